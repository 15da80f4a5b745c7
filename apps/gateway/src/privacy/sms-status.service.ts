import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@hotline/clock';
import { counter, withTimeout } from '@hotline/observability';
import { FINAL_SMS_STATUSES, markSmsDeleted, smsKnown } from '@hotline/privacy';
import { TwilioService } from '@hotline/twilio';
import { GatewayRecords } from '../calls/gateway-records';
import { RecordsDb } from '../records-db';
import { SmsStatusFields } from '../webhooks/twilio-fields';

const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
/** The deletion at Twilio is tried this long inside the callback; past it the delayed delete-sms job does it. */
const DELETE_BUDGET_MS = 2500;
const deleted = counter('hotline_sms_deleted_total', 'SMS deleted at Twilio after their final status', ['via']);

/**
 * Message status callbacks: once an SMS we sent reaches a final status it is deleted at Twilio
 * (body and numbers), so neither a code nor a number lingers there. Only SIDs we recorded are
 * acted on; anything that fails is left to the delayed delete-sms job.
 */
@Injectable()
export class SmsStatusService {
  private readonly logger = new Logger(SmsStatusService.name);

  constructor(
    private readonly records: RecordsDb,
    private readonly repos: GatewayRecords,
    private readonly twilio: TwilioService,
    private readonly clock: Clock,
  ) {}

  async status(params: SmsStatusFields): Promise<void> {
    const sid = typeof params.MessageSid === 'string' ? params.MessageSid : '';
    const status = typeof params.MessageStatus === 'string' ? params.MessageStatus : '';
    if (!MESSAGE_SID.test(sid) || !FINAL_SMS_STATUSES.has(status)) return;
    try {
      const ds = await withTimeout(this.records.get(), 3000);
      const known = await smsKnown(ds, sid);
      if (!known || known.deleted) return;
      const outcome = await withTimeout(this.twilio.deleteMessage(sid), DELETE_BUDGET_MS);
      await ds.transaction(async (m) => {
        if (await markSmsDeleted(m, sid, this.clock.now())) {
          await (
            await this.repos.audit()
          ).append(
            {
              actorRole: 'system',
              action: 'sms.deleted',
              targetType: 'sms',
              targetId: sid,
              detail: { status, twilio: outcome, via: 'status_callback' },
            },
            m,
          );
        }
      });
      deleted.inc({ via: 'status_callback' });
    } catch (e) {
      this.logger.warn({
        msg: 'SMS not deleted on its status callback; the delayed job will',
        messageSid: sid,
        error: (e as Error).name,
        status: (e as { status?: number }).status,
      });
    }
  }
}
