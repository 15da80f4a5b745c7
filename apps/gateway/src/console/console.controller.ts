import { Controller, Get, Header, Headers, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@hotline/auth';
import { ConsoleAssets } from './console-assets.service';

/**
 * `GET /`: the console page for operators and supervisors, and its two bundled assets. Their security
 * headers (the Content-Security-Policy included) are the gateway's, on every answer (bootstrap.ts).
 */
@Public()
@Controller()
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  index(): string {
    return this.assets.page;
  }

  @Get('console/:file')
  file(@Param('file') file: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res() res: Response): void {
    const asset = this.assets.asset(file);
    if (!asset) throw new NotFoundException(`no console asset ${file}`);
    const etag = `"${asset.hash}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (ifNoneMatch === etag) return void res.status(304).end();
    res.setHeader('Content-Type', asset.contentType);
    res.status(200).end(asset.body);
  }
}
