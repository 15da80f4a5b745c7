import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Env } from '@hotline/config';
import { commonSetup, startDefaultMetrics } from '@hotline/observability';
import { GatewayModule } from './gateway.module';

export async function createGatewayApp(env: Env): Promise<INestApplication> {
  startDefaultMetrics('gateway');
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(env), { bufferLogs: true, bodyParser: false });
  app.useBodyParser('urlencoded', { limit: '32kb', extended: false });
  app.useBodyParser('json', { limit: '16kb' });
  app.set('trust proxy', true);
  commonSetup(app);
  return app;
}
