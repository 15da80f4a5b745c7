import { Controller, Get, Header, Module, SetMetadata } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
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

@SetMetadata('hotline:public', true) // same key as @Public() in @hotline/auth
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('Content-Type', registry.contentType)
  metrics(): Promise<string> {
    return registry.metrics();
  }
}

@Module({ controllers: [MetricsController] })
export class MetricsModule {}
