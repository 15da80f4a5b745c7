import { Controller, Get, HttpStatus, Inject, Injectable, Optional, Req, Res, SetMetadata } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { InternalNetworks } from './internal-networks';

/** Something health can check: name and a probe that throws (or times out) when down. */
export interface HealthProbe {
  name: string;
  check(): Promise<void>;
}
export const HEALTH_PROBES = Symbol('HEALTH_PROBES');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

@Injectable()
export class HealthService {
  constructor(@Optional() @Inject(HEALTH_PROBES) private readonly probes: HealthProbe[] = []) {}

  async report(): Promise<{ status: 'ok' | 'error'; checks: Record<string, { status: 'up' | 'down'; error?: string }> }> {
    const checks: Record<string, { status: 'up' | 'down'; error?: string }> = {};
    await Promise.all(
      (this.probes ?? []).map(async (p) => {
        try {
          await withTimeout(p.check(), 1500);
          checks[p.name] = { status: 'up' };
        } catch (e) {
          checks[p.name] = { status: 'down', error: (e as Error).message.slice(0, 200) };
        }
      }),
    );
    return { status: Object.values(checks).every((c) => c.status === 'up') ? 'ok' : 'error', checks };
  }
}

/**
 * GET /health: 200 when every dependency answers, 503 naming the one that does not. The names and
 * errors go only to INTERNAL_NETWORKS; anyone else (a load balancer outside them, the internet) gets
 * the bare `{ status }` with the same status code.
 */
@SetMetadata('hotline:public', true)
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly internal: InternalNetworks,
  ) {}

  @Get()
  @ApiOkResponse({
    description: 'All dependencies answer; 503 otherwise, naming the one down (the names only to INTERNAL_NETWORKS).',
  })
  async get(@Req() req: Request, @Res() res: Response): Promise<void> {
    const report = await this.health.report();
    res
      .status(report.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE)
      .json(this.internal.admits(req) ? report : { status: report.status });
  }
}

export { withTimeout };
