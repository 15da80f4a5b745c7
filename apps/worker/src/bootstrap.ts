import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Env } from '@hotline/config';
import { commonSetup, startDefaultMetrics } from '@hotline/observability';
import { WorkerModule } from './worker.module';

export async function createWorkerApp(env: Env): Promise<INestApplication> {
  startDefaultMetrics('worker');
  const app = await NestFactory.create(WorkerModule.forRoot(env), { bufferLogs: true });
  commonSetup(app);
  return app;
}
