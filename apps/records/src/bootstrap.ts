import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Env } from '@hotline/config';
import { commonSetup, startDefaultMetrics, strictValidationPipe } from '@hotline/observability';
import { RecordsModule } from './records.module';

export const BODY_LIMIT = '64kb';

/** Builds the records app (used by main.ts and by the end-to-end tests alike). */
export async function createRecordsApp(env: Env): Promise<INestApplication> {
  startDefaultMetrics('records');
  const app = await NestFactory.create<NestExpressApplication>(RecordsModule.forRoot(env), { bufferLogs: true, bodyParser: false });
  app.useBodyParser('json', { limit: BODY_LIMIT, strict: true });
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  commonSetup(app);
  app.useGlobalPipes(strictValidationPipe());
  const doc = new DocumentBuilder()
    .setTitle('Hotline records')
    .setDescription('The system of record: staff, calls, notes, assessments, escalations, holds, deletion, audit. Content is returned only to those with a need to know.')
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/json' });
  return app;
}
