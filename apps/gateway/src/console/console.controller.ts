import { Controller, Get, Header, Headers, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@hotline/auth';
import { ConsoleAssets } from './console-assets.service';

// The page loads only its own script and style and talks only to this origin (records via /api, sockets).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** `GET /`: the console page for operators and supervisors, and its two bundled assets. */
@Public()
@Controller()
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('X-Frame-Options', 'DENY')
  @Header('Referrer-Policy', 'no-referrer')
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
