import {
  All,
  BadGatewayException,
  Controller,
  GatewayTimeoutException,
  Inject,
  Logger,
  NotFoundException,
  PayloadTooLargeException,
  Req,
  Res,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { ENV, Env } from '@hotline/config';
import { Public } from '@hotline/auth';
import { EXPORT_PATH, MAX_EXPORT_BYTES, OVERSIGHT_CONSOLE_API } from './oversight-api';

/** Only what the console uses is reachable through the gateway; records' docs, health and metrics are not. */
const ALLOWED = new RegExp(
  '^/(' +
    [
      'auth/login',
      'auth/me',
      'calls(/[A-Za-z0-9-]+(/(notes|assessment|followups|escalations(/[A-Za-z0-9-]+/cosign)?|rescue-requests(/[A-Za-z0-9-]+(/approve)?)?))?)?',
      // Issue 15: the operator's callback list and dialling a callback.
      'callbacks(/summary|/[A-Za-z0-9-]+/dial)?',
      // Issue 16: the sign-in steps, one's own password and sessions, the agreement, the admin console, handover.
      'auth/(logout|factor|factor/enrol|factor/passkey|factor/passkey/options|password|passkeys|passkeys/options|sessions(/[A-Za-z0-9_-]+)?)',
      // Issue 24: the server's idle lock and step-up (a fresh password and factor).
      'auth/(lock|unlock|step-up|reauth/passkey-options)',
      'agreements/(current|acceptances|[0-9A-Za-z._-]+/accept)',
      'users(/[A-Za-z0-9-]+(/(password-reset|factor-reset))?)?',
      'handovers(/operators(/[A-Za-z0-9-]+/calls)?)?',
    ].join('|') +
    ')$',
);
const FORWARDED_REQUEST_HEADERS = ['authorization', 'x-access-reason', 'accept'];
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'retry-after', 'x-request-id'];
const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

/**
 * `/api/*` → records (RECORDS_URL): the console page talks to one origin. The gateway adds nothing
 * and reads nothing: bodies pass through (capped by the gateway's JSON body limit on the way in and
 * MAX_RESPONSE_BYTES on the way out) and are never logged.
 */
@Public()
@Controller('api')
export class RecordsProxyController {
  private readonly logger = new Logger('RecordsProxy');

  constructor(@Inject(ENV) private readonly env: Env) {}

  @All('*path')
  async forward(@Req() req: Request & { id?: string }, @Res() res: Response): Promise<void> {
    const url = new URL(req.originalUrl, 'http://gateway');
    const path = url.pathname.replace(/^\/api/, '');
    if (!ALLOWED.test(path) && !OVERSIGHT_CONSOLE_API.test(path)) throw new NotFoundException(`no console API at ${path}`);
    const target = new URL(this.env.RECORDS_URL.replace(/\/$/, '') + path);
    target.search = url.search;

    const headers: Record<string, string> = {};
    for (const h of FORWARDED_REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    // Records throttles sign-in per client address; it trusts X-Forwarded-For from loopback only.
    if (req.ip) headers['x-forwarded-for'] = req.ip;
    if (req.id) headers['x-request-id'] = String(req.id);
    let body: string | undefined;
    const empty = !req.headers['content-type'] && !Number(req.headers['content-length'] ?? 0) && !req.headers['transfer-encoding'];
    if (!['GET', 'HEAD', 'DELETE'].includes(req.method) && !empty) {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) throw new UnsupportedMediaTypeException('the console API takes application/json');
      body = JSON.stringify(req.body ?? {});
      headers['content-type'] = 'application/json';
    }

    let upstream: globalThis.Response;
    try {
      upstream = await fetch(target, { method: req.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      this.logger.warn(
        `records did not answer ${req.method} ${path}: ${e?.name === 'TimeoutError' ? 'timeout' : (e?.cause?.code ?? e?.cause?.message ?? e?.name)}`,
      );
      if (e?.name === 'TimeoutError') throw new GatewayTimeoutException('the records service did not answer in time; try again');
      throw new BadGatewayException('the records service is not reachable; try again shortly');
    }
    const payload = await readCapped(upstream, EXPORT_PATH.test(path) ? MAX_EXPORT_BYTES : MAX_RESPONSE_BYTES);
    if (!payload) throw new PayloadTooLargeException('the records answer is too large to pass on');
    for (const h of FORWARDED_RESPONSE_HEADERS) {
      const v = upstream.headers.get(h);
      if (v) res.setHeader(h, v);
    }
    res.setHeader('Cache-Control', 'no-store');
    res.status(upstream.status).end(payload);
  }
}

async function readCapped(res: globalThis.Response, max: number): Promise<Buffer | null> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) return null; // leaving the loop cancels the stream
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
