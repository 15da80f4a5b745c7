import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@hotline/clock';
import { ConferenceCall, ConferenceState, RoutingStore } from '@hotline/routing';
import { TwilioConferences } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { RoutingEngine } from '../routing/routing.engine';

/**
 * A transfer that did not happen (declined, not answered, refused by Twilio, the target left before
 * the handover): the target is free again and the caller, off hold, is back with the transferring operator.
 */
@Injectable()
export class TransferReleases {
  private readonly logger = new Logger(TransferReleases.name);

  constructor(
    private readonly conferences: TwilioConferences,
    private readonly state: ConferenceState,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly engine: RoutingEngine,
    private readonly records: CallRecordsService,
    private readonly clock: Clock,
  ) {}

  async release(c: ConferenceCall, reason: string): Promise<void> {
    const t = c.transfer;
    if (!t) return;
    await this.state.setTransfer(c.callId, null);
    if (!t.to.startsWith('dir:')) {
      await this.store.transferRelease(c.callId, t.to).catch(() => undefined);
      await this.live.sendStatus(t.to);
      this.live.toOperator(t.to, 'call:ended', { callId: c.callId });
      this.engine.kick();
    }
    // Both at once: the caller off hold first of all (a slow Twilio must not leave them in hold music).
    await Promise.all([
      c.conferenceSid && c.callerLeg && !c.ended
        ? this.conferences
            .updateParticipant(c.conferenceSid, c.callerLeg, { hold: false })
            .catch((e) => this.logger.warn(`caller of call ${c.callId} not taken off hold: ${(e as Error).message}`))
        : undefined,
      t.leg && c.conferenceSid ? this.conferences.removeParticipant(c.conferenceSid, t.leg).catch(() => undefined) : undefined,
    ]);
    this.live.toOperator(t.by, 'transfer:status', { callId: c.callId, state: 'failed', mode: t.mode, reason });
    if (t.id)
      await this.records.event({
        kind: 'transfer_outcome',
        id: t.id,
        callId: c.callId,
        outcome: 'failed',
        at: this.clock.now().toISOString(),
      });
    this.live.statsChanged();
  }
}
