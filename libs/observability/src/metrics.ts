import { Controller, Get, Module, NotFoundException, Req, Res, SetMetadata } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiExcludeController } from '@nestjs/swagger';
import { InternalNetworks } from './internal-networks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process; every app exposes it at GET /metrics. */
export const registry = new Registry();
let defaultsStarted = false;

export function startDefaultMetrics(app: string): void {
  if (defaultsStarted) return;
  defaultsStarted = true;
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
}

function getOrCreate<T>(name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as unknown as T) ?? make();
}

export function counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
  return getOrCreate(name, () => new Counter({ name, help, labelNames, registers: [registry] }));
}
export function gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
  return getOrCreate(name, () => new Gauge({ name, help, labelNames, registers: [registry] }));
}
export function histogram(name: string, help: string, labelNames: string[] = [], buckets?: number[]): Histogram<string> {
  return getOrCreate(name, () => new Histogram({ name, help, labelNames, buckets, registers: [registry] }));
}

/** GET /metrics, for INTERNAL_NETWORKS only: anyone else gets the 404 of a route that does not exist. */
@SetMetadata('hotline:public', true) // same key as @Public() in @hotline/auth
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly internal: InternalNetworks) {}

  @Get()
  async metrics(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<string> {
    if (!this.internal.admits(req)) throw new NotFoundException(`Cannot ${req.method} ${req.originalUrl}`);
    const body = await registry.metrics();
    res.setHeader('Content-Type', registry.contentType);
    return body;
  }
}

@Module({ controllers: [MetricsController], providers: [InternalNetworks], exports: [InternalNetworks] })
export class MetricsModule {}
