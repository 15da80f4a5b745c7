import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { AckReply, SupervisionMode } from '@hotline/contract';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { ConferenceCall, ConferenceState, legLabel } from '@hotline/routing';
import { ParticipantChange, TwilioConferences } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { voiceLeg } from '../twiml/voice-legs';
import { legCallbacks, legCallerId, twilioStatus } from './conference-common';
import { ConferenceTwiml } from './conference-twiml';

type SupervisionEntry = {
  kind: 'supervision';
  id: string;
  callId: string;
  supervisorId: string;
  mode: SupervisionMode;
  reason: string;
  at: string;
};

/**
 * A supervisor who listens, coaches or joins a call (issue 24: fail closed). The supervision and its
 * audit entry (with the stated reason) are written in MySQL directly before anything of it happens:
 * before the supervisor's leg is dialled, before a change of mode reaches Twilio. If MySQL does not
 * take the write in time (away, slow, refusing), nothing happens: no leg, no change, the supervision
 * state undone, and the ack says `audit_unavailable`. The write is never queued, so the reason never
 * sits in a job.
 */
@Injectable()
export class Supervision {
  private readonly logger = new Logger(Supervision.name);

  constructor(
    @Inject(ENV) private readonly env: Env,
    private readonly conferences: TwilioConferences,
    private readonly state: ConferenceState,
    private readonly live: LiveEvents,
    private readonly records: CallRecordsService,
    private readonly twiml: ConferenceTwiml,
    private readonly clock: Clock,
  ) {}

  /** Listen, coach or join, or change how. */
  async supervise(supervisorId: string, callId: string, mode: SupervisionMode, reason: string): Promise<AckReply> {
    const c = await this.state.get(callId);
    if (!c || c.ended || !c.operatorId) return { ok: false, error: 'not_a_live_call' };
    if (c.bridge !== 'conference' || !c.conferenceSid) return { ok: false, error: 'not_in_a_conference' };
    if (mode === 'coach' && !c.operatorLeg) return { ok: false, error: 'operator_not_connected' };
    if (c.supervisor && c.supervisor.id !== supervisorId) return { ok: false, error: 'already_supervised' };
    const change: ParticipantChange =
      mode === 'listen'
        ? { muted: true, coaching: false }
        : mode === 'coach'
          ? { muted: false, coaching: true, callSidToCoach: c.operatorLeg! }
          : { muted: false, coaching: false };
    const entry: SupervisionEntry = {
      kind: 'supervision',
      id: randomUUID(),
      callId,
      supervisorId,
      mode,
      reason,
      at: this.clock.now().toISOString(),
    };
    return c.supervisor?.leg
      ? this.changeMode({ ...c, operatorId: c.operatorId, conferenceSid: c.conferenceSid }, c.supervisor.leg, change, entry)
      : this.dial({ ...c, conferenceSid: c.conferenceSid }, change, entry);
  }

  /** Already on the call: change how. Audited first, with its own reason; unrecorded, nothing changes. */
  private async changeMode(
    c: ConferenceCall & { operatorId: string; conferenceSid: string },
    leg: string,
    change: ParticipantChange,
    entry: SupervisionEntry,
  ): Promise<AckReply> {
    const { id, callId, supervisorId, mode, at } = entry;
    if ((await this.records.supervision(entry)) !== 'written') return this.auditUnavailable(callId, supervisorId, id);
    try {
      await this.conferences.updateParticipant(c.conferenceSid, leg, change);
    } catch (e) {
      this.logger.warn(`supervisor leg of call ${callId} not changed by Twilio (status ${twilioStatus(e)})`);
      // The mode on record never took effect: closed at once; the one in force stays as it was.
      await this.records.event({
        kind: 'supervision_ended',
        id,
        callId,
        supervisorId,
        at: this.clock.now().toISOString(),
        abandoned: true,
      });
      return { ok: false, error: 'supervision_failed' };
    }
    const previous = await this.state.supervisionRecord(callId);
    await this.state.set(callId, { supMode: mode, supRec: id });
    if (previous) await this.records.event({ kind: 'supervision_ended', id: previous, callId, supervisorId, at });
    this.live.toOperator(c.operatorId, 'supervision', { callId, mode });
    this.live.statsChanged();
    return { ok: true };
  }

  /** Not on the call yet: audited before anyone listens, then the supervisor's browser leg is dialled in. */
  private async dial(c: ConferenceCall & { conferenceSid: string }, change: ParticipantChange, entry: SupervisionEntry): Promise<AckReply> {
    const { id, callId, supervisorId, mode } = entry;
    if (!(await this.state.startSupervision(callId, supervisorId, mode))) return { ok: false, error: 'already_supervised' };
    await this.state.set(callId, { supRec: id });
    if ((await this.records.supervision(entry)) !== 'written') {
      await this.state.endSupervision(callId);
      this.live.statsChanged();
      return this.auditUnavailable(callId, supervisorId, id);
    }
    await this.state.set(callId, { help: '' });
    // The supervisor's console registers its voice device when they listen, coach or join; it takes this leg.
    const browser = voiceLeg(supervisorId, callId, 'supervision');
    this.live.toSupervisor(supervisorId, 'voice:leg', browser.announcement);
    try {
      const leg = await this.conferences.addParticipant(c.conferenceSid, {
        to: browser.address,
        from: legCallerId(this.env),
        label: legLabel({ kind: 'sup', id: supervisorId }),
        ...legCallbacks(this.twiml, callId, 'sup', supervisorId),
        timeoutSeconds: 20,
        muted: change.muted,
        ...(change.coaching ? { coaching: true, callSidToCoach: change.callSidToCoach } : {}),
        endConferenceOnExit: false,
      });
      this.records.leg(callId, leg.callSid, 'sup');
      const now = await this.state.get(callId);
      if (now?.supervisor?.id === supervisorId && !now.supervisor.leg) await this.state.set(callId, { supLeg: leg.callSid });
    } catch (e) {
      this.logger.warn(`supervisor leg for call ${callId} refused by Twilio (status ${twilioStatus(e)})`);
      await this.over({ ...c, supervisor: { id: supervisorId, mode, leg: null, joined: false } }, id);
      return { ok: false, error: 'supervision_failed' };
    }
    this.live.statsChanged();
    return { ok: true };
  }

  /**
   * A supervision whose audit entry MySQL did not take: nothing of it happened. Should its write still
   * commit after all (too late for the gateway to know), it is closed by a content-free job (ids only,
   * never the reason), which finds nothing to close otherwise.
   */
  private auditUnavailable(callId: string, supervisorId: string, id: string): AckReply {
    void this.records
      .event({ kind: 'supervision_ended', id, callId, supervisorId, at: this.clock.now().toISOString(), abandoned: true })
      .catch(() => undefined);
    return { ok: false, error: 'audit_unavailable' };
  }

  async unsupervise(supervisorId: string, callId: string): Promise<AckReply> {
    const c = await this.state.get(callId);
    if (!c?.supervisor || c.supervisor.id !== supervisorId) return { ok: false, error: 'not_supervising' };
    if (c.supervisor.leg && c.conferenceSid)
      await this.conferences.removeParticipant(c.conferenceSid, c.supervisor.leg).catch(() => undefined);
    await this.over(c);
    return { ok: true };
  }

  /** The supervisor's leg never answered (no answer, busy, failed): the supervision is over. */
  async legFailed(callId: string, supervisorId: string): Promise<void> {
    const c = await this.state.get(callId);
    if (c?.supervisor?.id === supervisorId) await this.over(c);
  }

  /** The supervisor is off the call (left, removed, or the call ended): the operator is told, the record closed. */
  async over(c: ConferenceCall, recordId?: string): Promise<void> {
    const sup = c.supervisor;
    if (!sup) return;
    const rec = recordId ?? (await this.state.supervisionRecord(c.callId));
    await this.state.endSupervision(c.callId);
    if (c.operatorId) this.live.toOperator(c.operatorId, 'supervision:ended', { callId: c.callId });
    if (rec)
      await this.records.event({
        kind: 'supervision_ended',
        id: rec,
        callId: c.callId,
        supervisorId: sup.id,
        at: this.clock.now().toISOString(),
      });
    this.live.statsChanged();
  }
}
