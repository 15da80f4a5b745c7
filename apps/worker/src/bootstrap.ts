import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Env, HotlineConfigOptions } from '@hotline/config';
import { commonSetup, startDefaultMetrics } from '@hotline/observability';
import { WorkerModule } from './worker.module';

export async function createWorkerApp(env: Env, options: HotlineConfigOptions = {}): Promise<INestApplication> {
  startDefaultMetrics('worker');
  const app = await NestFactory.create(WorkerModule.forRoot(env, options), { bufferLogs: true });
  commonSetup(app);
  return app;
}
