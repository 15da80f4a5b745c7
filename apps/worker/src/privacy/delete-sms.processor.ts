import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { Clock, systemClock } from '@hotline/clock';
import { markSmsDeleted, smsKnown } from '@hotline/privacy';
import { TwilioService } from '@hotline/twilio';

/** The fallback deletion of an SMS at Twilio, for one whose final status callback did not do it. */
@Injectable()
export class DeleteSmsProcessor {
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
  ) {}

  async process(messageSid: string): Promise<{ outcome: 'deleted' | 'already_gone' | 'done_before' | 'unknown' }> {
    const known = await smsKnown(this.db, messageSid);
    if (!known) return { outcome: 'unknown' };
    if (known.deleted) return { outcome: 'done_before' };
    const outcome = await this.twilio.deleteMessage(messageSid);
    await this.db.transaction(async (m) => {
      if (await markSmsDeleted(m, messageSid, this.clock.now())) {
        await this.audit.append(
          {
            actorId: null,
            actorRole: 'system',
            action: 'sms.deleted',
            targetType: 'sms',
            targetId: messageSid,
            detail: { twilio: outcome, via: 'delayed_job' },
          },
          m,
        );
      }
    });
    return { outcome };
  }
}
