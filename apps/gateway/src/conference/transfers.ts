import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { AckReply, TransferMode, TransferTarget } from '@hotline/contract';
import { Clock } from '@hotline/clock';
import { DIRECTORY, Directory, ENV, Env } from '@hotline/config';
import { ConferenceCall, ConferenceState, RoutingStore, TransferInFlight, legLabel } from '@hotline/routing';
import { TwilioConferences } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { voiceLeg } from '../twiml/voice-legs';
import { ColdTransfer } from './cold-transfer';
import { legCallbacks, legCallerId, operatorsConference, twilioStatus } from './conference-common';
import { ConferenceTwiml } from './conference-twiml';
import { TransferReleases } from './transfer-releases';

/**
 * Transfers of a call in a conference. Warm: the caller waits on hold while the target's leg rings
 * (a colleague's browser, or a directory number); once it has joined, the transferring operator
 * completes and leaves. Cold goes through ColdTransfer. A transfer that does not happen is undone
 * by TransferReleases.
 */
@Injectable()
export class Transfers {
  private readonly logger = new Logger(Transfers.name);

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(DIRECTORY) private readonly directory: Directory,
    private readonly conferences: TwilioConferences,
    private readonly state: ConferenceState,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly records: CallRecordsService,
    private readonly clock: Clock,
    private readonly twiml: ConferenceTwiml,
    private readonly cold: ColdTransfer,
    private readonly releases: TransferReleases,
  ) {}

  async transfer(operatorId: string, callId: string, mode: TransferMode, to: TransferTarget | null): Promise<AckReply> {
    const m = await operatorsConference(this.state, operatorId, callId);
    if ('error' in m) return { ok: false, error: m.error };
    const c = m.c;
    if (c.transfer) return { ok: false, error: 'transfer_in_progress' };
    const at = this.clock.now();
    const id = randomUUID();
    if (mode === 'cold') {
      const target = to && 'operatorId' in to ? to.operatorId : null;
      if (to && !target) return { ok: false, error: 'a cold transfer goes to the queue or to an operator' };
      return this.cold.transfer(c, operatorId, target, id, at);
    }
    if (!to) return { ok: false, error: 'a warm transfer needs an operator or a directory entry' };
    const warm = (target: string): TransferInFlight => ({
      id,
      mode: 'warm',
      by: operatorId,
      to: target,
      leg: null,
      at: at.getTime(),
      joined: false,
    });
    const entryOf = { fromStaffId: operatorId, id, callId, at: at.toISOString() };
    if ('operatorId' in to) {
      const r = await this.store.transferReserve(callId, operatorId, to.operatorId);
      if (r !== 'ok') return { ok: false, error: r };
      if (!(await this.state.startTransfer(callId, warm(to.operatorId)))) {
        await this.store.transferRelease(callId, to.operatorId);
        return { ok: false, error: 'transfer_in_progress' };
      }
      await this.records.event({
        kind: 'transfer',
        ...entryOf,
        mode: 'warm',
        toStaffId: to.operatorId,
        directoryId: null,
        directoryKind: null,
      });
      const browser = voiceLeg(to.operatorId, callId, 'transfer');
      this.live.toOperator(to.operatorId, 'voice:leg', browser.announcement);
      return this.dialTarget(c, operatorId, 'xfer', to.operatorId, browser.address, legLabel({ kind: 'op', id: to.operatorId }));
    }
    const entry = this.directory.get(to.directoryId);
    if (!entry) return { ok: false, error: 'unknown_directory_entry' };
    if (!this.env.TWILIO_SMS_FROM) return { ok: false, error: 'no_caller_id: set TWILIO_SMS_FROM to call directory numbers' };
    if (!(await this.state.startTransfer(callId, warm(`dir:${entry.id}`)))) return { ok: false, error: 'transfer_in_progress' };
    await this.records.event({
      kind: 'transfer',
      ...entryOf,
      mode: 'external',
      toStaffId: null,
      directoryId: entry.id,
      directoryKind: entry.kind,
    });
    return this.dialTarget(c, operatorId, 'ext', entry.id, entry.number, legLabel({ kind: 'ext', id: entry.id }));
  }

  /** The caller waits on hold while the target's leg rings; a leg Twilio refuses is a failed transfer at once. */
  private async dialTarget(
    c: ConferenceCall & { conferenceSid: string; callerLeg: string },
    operatorId: string,
    role: 'xfer' | 'ext',
    id: string,
    to: string,
    label: string,
  ): Promise<AckReply> {
    try {
      await this.conferences.updateParticipant(c.conferenceSid, c.callerLeg, { hold: true, holdUrl: this.twiml.holdUrl });
      const leg = await this.conferences.addParticipant(c.conferenceSid, {
        to,
        from: legCallerId(this.env),
        label,
        ...legCallbacks(this.twiml, c.callId, role, id),
        timeoutSeconds: this.env.TRANSFER_RING_SECONDS,
        endConferenceOnExit: false,
      });
      this.records.leg(c.callId, leg.callSid, role);
      const now = await this.state.get(c.callId);
      if (now?.transfer && !now.transfer.leg) await this.state.setTransfer(c.callId, { ...now.transfer, leg: leg.callSid });
    } catch (e) {
      this.logger.warn(`transfer of call ${c.callId} failed at Twilio (status ${twilioStatus(e)})`);
      const now = await this.state.get(c.callId);
      if (now) await this.releases.release(now, 'failed');
      return { ok: false, error: 'transfer_failed' };
    }
    this.live.toOperator(operatorId, 'transfer:status', { callId: c.callId, state: 'ringing', mode: 'warm' });
    this.live.statsChanged();
    return { ok: true };
  }

  /** The target's leg answered, or never will (busy, no answer, failed): the transferring operator is told. */
  async targetLeg(callId: string, role: 'xfer' | 'ext', id: string, failed: string | null, legSid: string | null): Promise<void> {
    const c = await this.state.get(callId);
    const to = role === 'xfer' ? id : `dir:${id}`;
    if (!c?.transfer || c.transfer.to !== to) return;
    if (failed) return this.releases.release(c, failed === 'busy' ? 'declined' : failed === 'no-answer' ? 'no_answer' : 'failed');
    await this.state.setTransfer(callId, { ...c.transfer, joined: true, leg: legSid ?? c.transfer.leg });
    this.live.toOperator(c.transfer.by, 'transfer:status', { callId, state: 'connected', mode: c.transfer.mode });
    if (role === 'xfer') {
      this.live.toOperator(id, 'status', { status: 'on_call' });
      this.live.toOperator(id, 'call:connected', { callId });
    }
    if (c.transfer.id)
      await this.records.event({
        kind: 'transfer_outcome',
        id: c.transfer.id,
        callId,
        outcome: 'connected',
        at: this.clock.now().toISOString(),
      });
  }

  /** Warm: the transferring operator leaves; the call is the target's (or, external, the caller stays with the entry). */
  async complete(operatorId: string, callId: string): Promise<AckReply> {
    const m = await operatorsConference(this.state, operatorId, callId);
    if ('error' in m) return { ok: false, error: m.error };
    const c = m.c;
    const t = c.transfer;
    if (!t || t.by !== operatorId) return { ok: false, error: 'no_transfer' };
    if (!t.joined) return { ok: false, error: 'target_not_connected' };
    const external = t.to.startsWith('dir:');
    const r = await this.store.transferHandover(callId, operatorId, external);
    if (!r.ok) return { ok: false, error: r.error };
    // The call changes hands before the operator's leg goes, so their leaving does not end it.
    await this.state.set(callId, { op: external ? '' : t.to, opLeg: external ? '' : (t.leg ?? '') });
    await this.state.setTransfer(callId, null);
    await this.conferences.updateParticipant(c.conferenceSid, c.callerLeg, { hold: false }).catch(() => undefined);
    if (c.operatorLeg) await this.conferences.removeParticipant(c.conferenceSid, c.operatorLeg).catch(() => undefined);
    this.live.toOperator(operatorId, 'transfer:status', { callId, state: 'completed', mode: t.mode });
    this.live.toOperator(operatorId, 'call:ended', { callId });
    await this.live.sendStatus(operatorId);
    if (t.id)
      await this.records.event({ kind: 'transfer_outcome', id: t.id, callId, outcome: 'completed', at: this.clock.now().toISOString() });
    this.live.statsChanged();
    return { ok: true };
  }
}
