import { Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ENV, Env } from '@hotline/config';
import { counter } from '@hotline/observability';
import { TwilioService } from '@hotline/twilio';

const refused = counter('hotline_webhooks_refused_total', 'Twilio webhooks refused for a missing or wrong signature');

/**
 * Every /twilio/* request must carry Twilio's signature for PUBLIC_URL + the path it called (query
 * included), checked by TwilioService (twilio's own validateRequest). Anything else gets 403 before any handler
 * runs, so it changes nothing; the log line names the path only (never a parameter).
 */
@Injectable()
export class TwilioSignatureMiddleware implements NestMiddleware {
  private readonly logger = new Logger('TwilioSignature');
  private readonly base: string;

  constructor(
    @Inject(ENV) env: Env,
    private readonly twilio: TwilioService,
  ) {
    this.base = env.PUBLIC_URL.replace(/\/$/, '');
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const signature = req.header('x-twilio-signature');
    const params =
      req.method === 'POST' && req.body && typeof req.body === 'object' && !Array.isArray(req.body)
        ? (req.body as Record<string, unknown>)
        : {};
    if (this.twilio.validateRequest(signature, this.base + req.originalUrl, params)) return next();
    refused.inc();
    this.logger.warn(`refused ${req.method} ${req.path}: no valid Twilio signature`);
    res.status(403).type('text/plain').send('Forbidden');
  }
}
