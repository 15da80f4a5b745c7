import { BadRequestException, INestApplication, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { json } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Env, HotlineConfigOptions, trustProxySetting } from '@hotline/config';
import { commonSetup, startDefaultMetrics, strictValidationPipe } from '@hotline/observability';
import { RecordsModule } from './records.module';

export const BODY_LIMIT = '64kb';

/** Builds the records app (used by main.ts and by the end-to-end tests alike). */
export async function createRecordsApp(env: Env, options: HotlineConfigOptions = {}): Promise<INestApplication> {
  startDefaultMetrics('records');
  const app = await NestFactory.create<NestExpressApplication>(RecordsModule.forRoot(env, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  // Only known proxies' X-Forwarded-For is believed (records: the gateway's); a client's own claim changes nothing.
  app.set('trust proxy', trustProxySetting(env.TRUSTED_PROXIES));
  // Before the body parser, so that an unreadable body still gets a request id and secure headers.
  app.use(requestId, helmet(), jsonBody(BODY_LIMIT));
  commonSetup(app);
  app.useGlobalPipes(strictValidationPipe());
  const doc = new DocumentBuilder()
    .setTitle('Hotline records')
    .setDescription(
      'The system of record: staff, calls, notes, assessments, escalations, holds, deletion, audit. Content is returned only to those with a need to know.',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc), { jsonDocumentUrl: 'docs/json' });
  return app;
}

/** The id pino-http will log the request under (it keeps an id already set); also the errors' correlationId. */
function requestId(req: Request & { id?: string }, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  req.id = typeof given === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.id);
  next();
}

/** JSON bodies only up to `limit`; a body that cannot be read is a 4xx naming `body`, never the parser's own words. */
function jsonBody(limit: string) {
  const parse = json({ limit, strict: true });
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: any) => {
      if (!err) return next();
      if (err.type === 'entity.too.large')
        return next(new PayloadTooLargeException({ message: `body is larger than the ${limit} allowed`, fields: ['body'] }));
      if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported')
        return next(new UnsupportedMediaTypeException({ message: 'body encoding is not supported', fields: ['body'] }));
      next(
        new BadRequestException({
          message: err.type === 'entity.parse.failed' ? 'body is not valid JSON' : 'body could not be read',
          fields: ['body'],
        }),
      );
    });
}
