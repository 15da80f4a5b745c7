import { randomUUID } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';
import { Params } from 'nestjs-pino';
import pino, { DestinationStream, Logger, LoggerOptions } from 'pino';
import { REDACT_PATHS, loggedPath, scrubObject, scrubString } from './redaction';

/** What the logger takes from the validated environment (`Env`). */
export interface LogSettings {
  LOG_LEVEL: string;
  LOG_CAPTURE_FILE?: string;
}

/** pino options shared by the apps and scripts: JSON lines, redaction by configuration. */
export function pinoOptions(app: string, level = 'info'): LoggerOptions {
  return {
    level,
    base: { app, pid: process.pid },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // `err` reaches here already scrubbed into a plain object by the `log` formatter; pino's own err
    // serializer would take it for an Error again and name its type `Object`.
    serializers: { err: (e: unknown) => (e instanceof Error ? scrubObject(e) : e) },
    formatters: {
      log: (obj) => scrubObject(obj) as Record<string, unknown>,
    },
    hooks: {
      // Message strings are scrubbed too: a number interpolated into a message is still caught. An
      // Error passed alone is passed as `{ err }` with its message as the message, as pino would, so
      // that its message is scrubbed rather than copied into `msg` after the formatter ran.
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        const given = first instanceof Error ? [{ err: first }, ...(rest.length ? rest : [first.message])] : args;
        const scrubbed = given.map((a) => (typeof a === 'string' ? scrubString(a) : a));
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
}

let capture: { path: string; file: DestinationStream; stdout: DestinationStream } | undefined;

/**
 * With LOG_CAPTURE_FILE set (the test suite sets it), every line from debug up is also appended to
 * that file, synchronously so that a process killed mid-run loses nothing: the security suite scans
 * it for numbers, codes and note text. Without it: stdout at the configured level, as ever.
 */
function withCapture(options: LoggerOptions, path: string | undefined): { options: LoggerOptions; stream?: DestinationStream } {
  if (!path) return { options };
  if (capture?.path !== path)
    capture = {
      path,
      file: pino.destination({ dest: path, append: true, sync: true, mkdir: true }),
      stdout: capture?.stdout ?? pino.destination(1),
    };
  const level = String(options.level ?? 'info');
  const streams: pino.StreamEntry[] = [{ level: 'debug', stream: capture.file }];
  if (level !== 'silent') streams.push({ level: level as pino.Level, stream: capture.stdout });
  const lowest = Math.min(pino.levels.values[level] ?? Infinity, pino.levels.values.debug);
  return { options: { ...options, level: pino.levels.labels[lowest] }, stream: pino.multistream(streams) };
}

/** The running app's settings, for loggers made outside Nest (e.g. Redis connection warnings); set by loggerModuleParams. */
let appSettings: LogSettings = { LOG_LEVEL: 'info' };

export function createLogger(app: string, env: LogSettings = appSettings): Logger {
  const { options, stream } = withCapture(pinoOptions(app, env.LOG_LEVEL), env.LOG_CAPTURE_FILE);
  return stream ? pino(options, stream) : pino(options);
}

/** nestjs-pino parameters: request ids (taken from X-Request-Id or made), no bodies, no query strings. */
export function loggerModuleParams(app: string, env: LogSettings): Params {
  appSettings = env;
  const { options, stream } = withCapture(pinoOptions(app, env.LOG_LEVEL), env.LOG_CAPTURE_FILE);
  const http = {
    ...options,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customProps: () => ({}),
    serializers: {
      ...options.serializers,
      req: (req: any) => ({ id: req.id, method: req.method, url: loggedPath(req.url) }),
      // pino-http hands over a copy whose statusCode is null unless headersSent says so; the raw response knows.
      res: (res: any) => ({ statusCode: res.raw?.statusCode ?? res.statusCode }),
    },
    autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health' || req.url === '/metrics' },
    quietReqLogger: true,
  };
  return { pinoHttp: stream ? [http, stream] : http };
}
