import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { Request, Response } from 'express';

/**
 * One shape for every HTTP error: `{ statusCode, error, message, fields?, correlationId }`.
 * Unknown errors become a 500 with the correlation id and nothing of the internals.
 */
@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request & { id?: string }>();
    const res = ctx.getResponse<Response>();
    const correlationId = String(req.id ?? res.getHeader('X-Request-Id') ?? randomUUID());
    const body = toBody(exception);
    if (body.statusCode >= 500 && !(exception instanceof HttpException)) {
      this.logger.error(
        {
          correlationId,
          err: { name: (exception as Error)?.name, message: (exception as Error)?.message, stack: (exception as Error)?.stack },
        },
        'unhandled error',
      );
    } else if (body.statusCode >= 500) {
      // A deliberate 5xx (e.g. 503: a dependency away, a feature not configured) is an answer, not a crash.
      this.logger.warn({ correlationId, statusCode: body.statusCode, path: req.path }, body.message);
    }
    if (res.headersSent) return;
    if (body.headers) for (const [k, v] of Object.entries(body.headers)) res.setHeader(k, v);
    delete body.headers;
    res.status(body.statusCode).json({ ...body, correlationId });
  }
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  fields?: string[];
  headers?: Record<string, string>;
  [k: string]: unknown;
}

function toBody(exception: unknown): ErrorBody {
  const e = exception as any;
  // body-parser errors (they carry `type` and `status`)
  if (e && typeof e === 'object' && typeof e.type === 'string' && typeof e.status === 'number') {
    if (e.type === 'entity.parse.failed')
      return { statusCode: 400, error: 'Bad Request', message: 'body is not valid JSON', fields: ['body'] };
    if (e.type === 'entity.too.large')
      return { statusCode: 413, error: 'Payload Too Large', message: `body is larger than the ${e.limit} bytes allowed`, fields: ['body'] };
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return { statusCode: 415, error: 'Unsupported Media Type', message: 'body encoding is not supported', fields: ['body'] };
    if (e.status >= 400 && e.status < 500)
      return { statusCode: e.status, error: 'Bad Request', message: 'body could not be read', fields: ['body'] };
  }
  // Other http-errors from the body reader (e.g. a body that claims gzip and is not) and raw zlib errors.
  if (e && typeof e === 'object' && !(exception instanceof HttpException)) {
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
    if (status !== undefined && status >= 400 && status < 500 && e.expose !== false) {
      return { statusCode: status, error: 'Bad Request', message: 'body could not be read', fields: ['body'] };
    }
    if (typeof e.code === 'string' && /^Z_/.test(e.code))
      return { statusCode: 400, error: 'Bad Request', message: 'body encoding is corrupt', fields: ['body'] };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse() as any;
    const base: ErrorBody = {
      statusCode: status,
      error:
        HttpStatus[status]
          ?.replace(/_/g, ' ')
          .toLowerCase()
          .replace(/\b\w/g, (c: string) => c.toUpperCase()) ?? 'Error',
      message: exception.message,
    };
    if (typeof response === 'string') return { ...base, message: response };
    if (response && typeof response === 'object') {
      const { statusCode: _s, message, error, ...rest } = response;
      const messages: string[] = Array.isArray(message) ? message : message ? [String(message)] : [];
      return { ...base, ...rest, error: error ?? base.error, message: messages.join('; ') || base.message };
    }
    return base;
  }
  return { statusCode: 500, error: 'Internal Server Error', message: 'something went wrong; quote the correlation id when reporting it' };
}
