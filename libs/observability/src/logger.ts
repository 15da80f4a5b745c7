import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { Params } from 'nestjs-pino';
import pino, { Logger, LoggerOptions } from 'pino';
import { REDACT_PATHS, pathOnly, scrubObject, scrubString } from './redaction';

/** pino options shared by the apps and scripts: JSON lines, redaction by configuration. */
export function pinoOptions(app: string, level = process.env.LOG_LEVEL ?? 'info'): LoggerOptions {
  return {
    level,
    base: { app, pid: process.pid },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: {
      log: (obj) => scrubObject(obj) as Record<string, unknown>,
    },
    hooks: {
      // Message strings are scrubbed too: a number interpolated into a message is still caught.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubString(a) : a));
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
}

export function createLogger(app: string): Logger {
  return pino(pinoOptions(app));
}

/** nestjs-pino parameters: request ids (taken from X-Request-Id or made), no bodies, no query strings. */
export function loggerModuleParams(app: string): Params {
  return {
    pinoHttp: {
      ...pinoOptions(app),
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customProps: () => ({}),
      serializers: {
        req: (req: any) => ({ id: req.id, method: req.method, url: pathOnly(req.url) }),
        res: (res: any) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' || req.url === '/metrics' },
      quietReqLogger: true,
    },
  };
}
