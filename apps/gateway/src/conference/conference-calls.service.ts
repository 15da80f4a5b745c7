import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { AckReply, RiskLevel, SupervisionMode, TransferMode, TransferTarget } from '@hotline/contract';
import { callRiskLevel } from '@hotline/calls/records';
import { Clock } from '@hotline/clock';
import { DIRECTORY, Directory, ENV, Env } from '@hotline/config';
import { counter, withTimeout } from '@hotline/observability';
import { ConferenceCall, ConferenceState, RoutingStore, legLabel, parseLegLabel } from '@hotline/routing';
import { TwilioConferences, TwilioService, isTwilioCallEnded } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { RecordsDb } from '../records-db';
import { CallAnswers } from '../routing/call-answers';
import { RoutingEngine } from '../routing/routing.engine';
import { CallTwiml } from '../telephony/twiml';
import { voiceLeg } from '../telephony/voice-legs';
import { CONFERENCE_EVENTS, ConferenceTwiml } from './conference-twiml';

const REDIS_MS = 1000;
const LOOKUP_MS = 800;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const CONF_SID = /^CF[0-9a-fA-F]{32}$/;
const FAILED_LEG = new Set(['no-answer', 'busy', 'failed', 'canceled']);
export const REASON_MAX = 500;

const bridges = counter('hotline_bridges_total', 'Accepted calls by how the caller was bridged', ['bridge']);
const conferenceCallbacks = counter('hotline_conference_callbacks_total', 'Conference status callbacks by event and outcome', [
  'event',
  'outcome',
]);

export type TwilioParams = Record<string, string | string[] | undefined>;
const str = (v: string | string[] | undefined): string => (typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? '') : '');

/** How the accepted caller is to be bridged: the TwiML for their call, and the operator's leg if it is a conference. */
export interface Bridge {
  bridge: 'conference' | 'direct';
  twiml: string;
  operatorLeg: string | null;
  conferenceSid: string | null;
}

/**
 * Calls that live in a Twilio conference named after the call id (issue 14): the operator's leg
 * is dialled into it and the caller joins; hold (with hold music), warm and cold transfers, a
 * supervisor who listens, coaches or joins, help requests. Conference state is in Redis
 * (ConferenceState) so every gateway node agrees; Twilio's signed status callbacks move it, each
 * applied once. If Twilio cannot create the conference the caller is connected the direct way.
 */
@Injectable()
export class ConferenceCalls {
  private readonly logger = new Logger(ConferenceCalls.name);

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(DIRECTORY) private readonly directory: Directory,
    private readonly twilio: TwilioService,
    private readonly conferences: TwilioConferences,
    private readonly state: ConferenceState,
    private readonly store: RoutingStore,
    private readonly live: LiveEvents,
    private readonly engine: RoutingEngine,
    private readonly records: CallRecordsService,
    private readonly db: RecordsDb,
    private readonly callTwiml: CallTwiml,
    private readonly twiml: ConferenceTwiml,
    private readonly clock: Clock,
    private readonly answers: CallAnswers,
  ) {}

  get enabled(): boolean {
    return this.env.CALL_BRIDGE === 'conference';
  }

  /** Who the hotline's legs come from: the hotline's number when configured, else a client name (browser legs only). */
  private get from(): string {
    return this.env.TWILIO_SMS_FROM ?? 'client:hotline';
  }

  // ---- accept ----------------------------------------------------------------------------------

  /**
   * Dials the operator's leg into the call's conference (which creates it), and gives the caller's
   * TwiML to join it. When Twilio refuses (the conference cannot be created), the direct `<Dial>`.
   */
  async prepare(callId: string, operatorId: string, record: boolean): Promise<Bridge> {
    // The operator's console is told which leg to take before Twilio rings it (libs/contract voice-legs).
    const browser = voiceLeg(operatorId, callId, 'offer');
    this.live.toOperator(operatorId, 'voice:leg', browser.announcement);
    const direct = (): Bridge => ({
      bridge: 'direct',
      twiml: this.callTwiml.connect(callId, operatorId, record, browser),
      operatorLeg: null,
      conferenceSid: null,
    });
    if (!this.enabled) return direct();
    try {
      const leg = await this.conferences.addParticipant(callId, {
        to: browser.address,
        from: this.from,
        label: legLabel({ kind: 'op', id: operatorId }),
        statusCallback: this.twiml.legUrl(callId, 'op', operatorId),
        statusCallbackEvent: ['answered', 'completed'],
        conferenceStatusCallback: this.twiml.statusUrl(callId),
        conferenceStatusCallbackEvent: [...CONFERENCE_EVENTS],
        conferenceRecord: record,
        conferenceRecordingStatusCallback: record ? this.twiml.recordingUrl(callId) : undefined,
        timeoutSeconds: 20,
        startConferenceOnEnter: true,
        endConferenceOnExit: false,
      });
      // Every leg is kept with the call, for its deletion at Twilio (a participant has no parent call there).
      this.records.leg(callId, leg.callSid, 'op');
      return { bridge: 'conference', twiml: this.twiml.join(callId, record), operatorLeg: leg.callSid, conferenceSid: leg.conferenceSid };
    } catch (e) {
      bridges.inc({ bridge: 'direct_fallback' });
      this.logger.warn(
        `conference for call ${callId} could not be created (Twilio status ${(e as { status?: number }).status ?? 'none'}); connecting directly`,
      );
      return direct();
    }
  }

  /** The caller could not be moved (hung up, Twilio error): the operator's leg goes too. */
  async abandon(b: Bridge): Promise<void> {
    if (b.bridge !== 'conference' || !b.conferenceSid) return;
    await this.conferences.endConference(b.conferenceSid).catch(() => undefined);
  }

  /** The caller is bridged: state for the conference, and the record says how. */
  async bridged(callId: string, operatorId: string, callerSid: string, b: Bridge): Promise<void> {
    bridges.inc({ bridge: b.bridge });
    const before = await this.state.get(callId).catch(() => null);
    try {
      await withTimeout(this.state.begin(callId, b.bridge, operatorId, callerSid, b.operatorLeg, b.conferenceSid), REDIS_MS);
    } catch (e) {
      this.logger.warn(`conference state for call ${callId} not kept (Redis: ${(e as Error).message.slice(0, 80)})`);
    }
    await this.records.event({ kind: 'bridged', callId, bridge: b.bridge, conferenceSid: b.conferenceSid });
    // A cold transfer lands when the next operator's leg is bridged.
    const t = before?.transfer;
    if (t && t.mode === 'cold' && t.id) {
      await this.state.setTransfer(callId, null);
      await this.records.event({ kind: 'transfer_outcome', id: t.id, callId, outcome: 'completed', at: this.clock.now().toISOString() });
    }
    this.live.statsChanged();
  }

  /** A reconnecting console gets back what it must show about its call: on hold since, a supervisor on it, the targets. */
  async resume(operatorId: string, callId: string): Promise<void> {
    const c = await this.state.get(callId).catch(() => null);
    if (!c || c.ended || c.operatorId !== operatorId || c.bridge !== 'conference') return;
    if (c.holdSince !== null)
      this.live.toOperator(operatorId, 'call:hold_state', { callId, onHold: true, since: new Date(c.holdSince).toISOString() });
    if (c.supervisor?.joined) this.live.toOperator(operatorId, 'supervision', { callId, mode: c.supervisor.mode });
    await this.sendTargets(operatorId);
  }

  /** The transfer targets this operator may pick: available colleagues, and the directory (names, never numbers). */
  async sendTargets(operatorId: string): Promise<void> {
    try {
      const stats = await this.store.stats();
      this.live.toOperator(operatorId, 'transfer:targets', {
        operators: (stats.operatorList ?? []).filter((o) => o.id !== operatorId).map((o) => ({ id: o.id, name: o.name, status: o.status })),
        directory: this.directory.entries.map((e) => ({ id: e.id, name: e.name, kind: e.kind })),
      });
    } catch {
      // The console asks again with its next call; nothing depends on this list.
    }
  }

  // ---- Twilio callbacks ------------------------------------------------------------------------

  /** A REST-added leg's call progress: answered, or never (no-answer, busy, failed). */
  async leg(query: TwilioParams, params: TwilioParams): Promise<void> {
    const callId = str(query.c);
    const role = str(query.r);
    const id = str(query.i);
    const status = str(params.CallStatus);
    if (!UUID.test(callId)) return;
    const answered = status === 'in-progress' || status === 'answered';
    const failed = FAILED_LEG.has(status);
    if (!answered && !failed) return;
    const legSid = str(params.CallSid);
    if (CALL_SID.test(legSid)) this.records.leg(callId, legSid, role);
    if (role === 'op' && UUID.test(id))
      return answered
        ? this.operatorLegAnswered(callId, id, CALL_SID.test(legSid) ? legSid : null)
        : this.operatorLegMissed(callId, id, status);
    if ((role === 'xfer' && UUID.test(id)) || (role === 'ext' && /^[a-z0-9-]{1,64}$/.test(id))) {
      const c = await this.state.get(callId);
      const to = role === 'xfer' ? id : `dir:${id}`;
      if (!c?.transfer || c.transfer.to !== to) return;
      if (failed) return this.releaseTransfer(c, status === 'busy' ? 'declined' : status === 'no-answer' ? 'no_answer' : 'failed');
      await this.state.setTransfer(callId, { ...c.transfer, joined: true, leg: CALL_SID.test(legSid) ? legSid : c.transfer.leg });
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
      return;
    }
    if (role === 'sup' && UUID.test(id) && failed) {
      const c = await this.state.get(callId);
      if (c?.supervisor?.id === id) await this.supervisionOver(c);
    }
  }

  /** The conference's recording: linked to the call (the caller's CallSid), with its retention deadline. */
  async recording(query: TwilioParams, params: TwilioParams): Promise<void> {
    const callId = str(query.c);
    const recordingSid = str(params.RecordingSid);
    if (!UUID.test(callId) || !/^RE[0-9a-fA-F]{32}$/.test(recordingSid) || !CONF_SID.test(str(params.ConferenceSid))) return;
    // Linked by the call id in the URL we gave (the record finds the call by it), even if Redis has
    // forgotten the conference: a recording never linked would never be deleted at Twilio.
    const c = await this.state.get(callId).catch(() => null);
    await this.records.event({
      kind: 'recording',
      callId,
      callSid: c?.callerLeg ?? '',
      recordingSid,
      status: str(params.RecordingStatus) || 'completed',
      at: this.clock.now().toISOString(),
    });
  }

  /**
   * The operator's leg answered: on record as answered by them, if routing agrees the call is
   * theirs (the leg can answer before the caller turns out to be gone, and then nobody answered).
   */
  private async operatorLegAnswered(callId: string, operatorId: string, legSid: string | null): Promise<void> {
    // On record first, then the console is told it is connected (and given the transfer targets).
    if (await this.answers.answered(callId, operatorId, legSid)) await this.sendTargets(operatorId);
  }

  /** The operator's browser never picked up: the caller back to the front of the queue, the operator away. */
  private async operatorLegMissed(callId: string, operatorId: string, status: string): Promise<void> {
    let call: Awaited<ReturnType<RoutingStore['call']>>;
    try {
      if ((await withTimeout(this.store.requeueMissed(callId, operatorId), REDIS_MS)) !== 'requeued') return;
      this.logger.warn(`call ${callId}: operator ${operatorId} did not pick up (${status.slice(0, 16)}); back in the queue`);
      this.live.revoked(operatorId, callId, 'connect_failed');
      await this.live.sendStatus(operatorId);
      this.engine.kick();
      call = await withTimeout(this.store.call(callId), REDIS_MS);
    } catch (e) {
      this.logger.warn(`call ${callId}: a missed operator leg not applied (Redis: ${(e as Error).message.slice(0, 80)})`);
      return;
    }
    if (!call?.callSid) return;
    await this.twilio
      .updateCall(call.callSid, this.callTwiml.requeue(callId, call.recordingConsent, call.enqueuedAt))
      .catch((e) =>
        this.logger.warn(`call ${callId} not put back in Twilio's queue (${isTwilioCallEnded(e) ? 'call gone' : 'Twilio error'})`),
      );
    await this.state.ended(callId).catch(() => undefined);
  }

  /**
   * Conference and participant status callbacks, each applied once (ConferenceSid + SequenceNumber):
   * the conference's SID, who joined and left, hold and unhold of the caller, supervision.
   */
  async status(query: TwilioParams, params: TwilioParams): Promise<void> {
    const callId = str(query.c);
    const sid = str(params.ConferenceSid);
    const event = str(params.StatusCallbackEvent);
    const seq = str(params.SequenceNumber);
    if (!UUID.test(callId) || !CONF_SID.test(sid) || !/^[a-z-]{3,40}$/.test(event) || str(params.FriendlyName) !== callId) return;
    if (/^\d{1,9}$/.test(seq) && !(await this.state.firstTime(sid, seq))) {
      conferenceCallbacks.inc({ event, outcome: 'duplicate' });
      return;
    }
    conferenceCallbacks.inc({ event, outcome: 'applied' });
    const c = await this.state.get(callId);
    if (!c || c.bridge !== 'conference') return;
    // A callback from an earlier conference of this call (before a cold transfer) changes nothing now.
    if (c.conferenceSid && c.conferenceSid !== sid && event !== 'conference-start') return;
    const legSid = str(params.CallSid);
    const role = parseLegLabel(str(params.ParticipantLabel));
    // Twilio sends each event as its own request, in no guaranteed order: a leg's presence and its
    // hold are applied only when newer (by SequenceNumber) than what was applied for them already,
    // so a late `participant-hold` after an unhold does not put the caller back on hold.
    const sequence = /^\d{1,9}$/.test(seq) ? Number(seq) : null;
    const aspect =
      event === 'participant-hold' || event === 'participant-unhold'
        ? `hold:${legSid}`
        : event === 'participant-join' || event === 'participant-leave'
          ? `leg:${legSid}`
          : null;
    if (aspect && sequence !== null && CALL_SID.test(legSid) && !(await this.state.newest(sid, aspect, sequence))) {
      conferenceCallbacks.inc({ event, outcome: 'superseded' });
      return;
    }
    switch (event) {
      case 'conference-start':
        if (!c.conferenceSid) {
          await this.state.setConferenceSid(callId, sid);
          await this.records.event({ kind: 'bridged', callId, bridge: 'conference', conferenceSid: sid });
        }
        return;
      case 'participant-join':
        if (role && role.kind !== 'caller' && CALL_SID.test(legSid)) this.records.leg(callId, legSid, role.kind);
        if (role?.kind === 'caller' && CALL_SID.test(legSid)) await this.state.set(callId, { caller: legSid });
        if (role?.kind === 'op' && role.id === c.operatorId && CALL_SID.test(legSid)) await this.state.set(callId, { opLeg: legSid });
        if (role?.kind === 'sup' && c.supervisor?.id === role.id) {
          await this.state.set(callId, { supLeg: legSid, supJoined: '1' });
          if (c.operatorId) this.live.toOperator(c.operatorId, 'supervision', { callId, mode: c.supervisor.mode });
        }
        this.live.statsChanged();
        return;
      case 'participant-hold':
      case 'participant-unhold': {
        if (!role || role.kind !== 'caller') return;
        const hold = event === 'participant-hold';
        const since = this.clock.nowMs();
        await this.state.set(callId, { holdSince: hold ? since : '' });
        if (c.operatorId)
          this.live.toOperator(
            c.operatorId,
            'call:hold_state',
            hold ? { callId, onHold: true, since: new Date(since).toISOString() } : { callId, onHold: false },
          );
        this.live.statsChanged();
        return;
      }
      case 'participant-leave':
        return this.left(c, sid, role);
      case 'conference-end':
        if (c.supervisor) await this.supervisionOver(c);
        await this.state.ended(callId);
        this.live.statsChanged();
        return;
      default:
        return;
    }
  }

  private async left(c: ConferenceCall, sid: string, role: ReturnType<typeof parseLegLabel>): Promise<void> {
    if (!role) return;
    if (role.kind === 'sup' && c.supervisor?.id === role.id) return this.supervisionOver(c);
    if (role.kind === 'op' && c.transfer && c.transfer.to === role.id) return this.releaseTransfer(c, 'target_left');
    if (role.kind === 'ext' && c.transfer && c.transfer.to === `dir:${role.id}`) {
      if (c.operatorId) return this.releaseTransfer(c, 'target_left');
    }
    // The operator who has the call hung up (or nobody of staff is left with the caller): the call
    // ends, as a direct <Dial> ends when the operator's leg does. Never a caller left alone in silence.
    const staffGone = (role.kind === 'op' && role.id === c.operatorId) || (role.kind === 'ext' && !c.operatorId);
    if (staffGone && !c.ended) {
      this.logger.log(`call ${c.callId}: the operator's leg left the conference; ending it`);
      await this.conferences
        .endConference(sid)
        .catch((e) => this.logger.warn(`conference of call ${c.callId} not ended: ${(e as Error).message}`));
    }
    this.live.statsChanged();
  }

  // ---- hold ------------------------------------------------------------------------------------

  /** The call's operator, in a conference in progress: or why not. */
  private async mine(operatorId: string, callId: string): Promise<{ c: ConferenceCall } | { error: string }> {
    const c = await this.state.get(callId);
    if (!c || c.ended || c.operatorId !== operatorId) return { error: 'not_your_call' };
    if (c.bridge !== 'conference' || !c.conferenceSid || !c.callerLeg) return { error: 'not_in_a_conference' };
    return { c };
  }

  async hold(operatorId: string, callId: string, hold: boolean): Promise<AckReply<{ onHold: boolean }>> {
    const m = await this.mine(operatorId, callId);
    if ('error' in m) return { ok: false, error: m.error };
    await this.conferences.updateParticipant(
      m.c.conferenceSid!,
      m.c.callerLeg!,
      hold ? { hold: true, holdUrl: this.twiml.holdUrl } : { hold: false },
    );
    return { ok: true, onHold: hold };
  }

  // ---- transfers -------------------------------------------------------------------------------

  async transfer(operatorId: string, callId: string, mode: TransferMode, to: TransferTarget | null): Promise<AckReply> {
    const m = await this.mine(operatorId, callId);
    if ('error' in m) return { ok: false, error: m.error };
    const c = m.c;
    if (c.transfer) return { ok: false, error: 'transfer_in_progress' };
    const at = this.clock.now();
    const id = randomUUID();
    if (mode === 'cold') {
      const target = to && 'operatorId' in to ? to.operatorId : null;
      if (to && !target) return { ok: false, error: 'a cold transfer goes to the queue or to an operator' };
      return this.cold(c, operatorId, target, id, at);
    }
    if (!to) return { ok: false, error: 'a warm transfer needs an operator or a directory entry' };
    if ('operatorId' in to) {
      const r = await this.store.transferReserve(callId, operatorId, to.operatorId);
      if (r !== 'ok') return { ok: false, error: r };
      if (
        !(await this.state.startTransfer(callId, {
          id,
          mode: 'warm',
          by: operatorId,
          to: to.operatorId,
          leg: null,
          at: at.getTime(),
          joined: false,
        }))
      ) {
        await this.store.transferRelease(callId, to.operatorId);
        return { ok: false, error: 'transfer_in_progress' };
      }
      await this.records.event({
        kind: 'transfer',
        id,
        callId,
        mode: 'warm',
        fromStaffId: operatorId,
        toStaffId: to.operatorId,
        directoryId: null,
        directoryKind: null,
        at: at.toISOString(),
      });
      const browser = voiceLeg(to.operatorId, callId, 'transfer');
      this.live.toOperator(to.operatorId, 'voice:leg', browser.announcement);
      return this.dialTarget(c, operatorId, 'xfer', to.operatorId, browser.address, legLabel({ kind: 'op', id: to.operatorId }));
    }
    const entry = this.directory.get(to.directoryId);
    if (!entry) return { ok: false, error: 'unknown_directory_entry' };
    if (!this.env.TWILIO_SMS_FROM) return { ok: false, error: 'no_caller_id: set TWILIO_SMS_FROM to call directory numbers' };
    if (
      !(await this.state.startTransfer(callId, {
        id,
        mode: 'warm',
        by: operatorId,
        to: `dir:${entry.id}`,
        leg: null,
        at: at.getTime(),
        joined: false,
      }))
    )
      return { ok: false, error: 'transfer_in_progress' };
    await this.records.event({
      kind: 'transfer',
      id,
      callId,
      mode: 'external',
      fromStaffId: operatorId,
      toStaffId: null,
      directoryId: entry.id,
      directoryKind: entry.kind,
      at: at.toISOString(),
    });
    return this.dialTarget(c, operatorId, 'ext', entry.id, entry.number, legLabel({ kind: 'ext', id: entry.id }));
  }

  /** The caller waits on hold while the target's leg rings; a leg Twilio refuses is a failed transfer at once. */
  private async dialTarget(
    c: ConferenceCall,
    operatorId: string,
    role: 'xfer' | 'ext',
    id: string,
    to: string,
    label: string,
  ): Promise<AckReply> {
    try {
      await this.conferences.updateParticipant(c.conferenceSid!, c.callerLeg!, { hold: true, holdUrl: this.twiml.holdUrl });
      const leg = await this.conferences.addParticipant(c.conferenceSid!, {
        to,
        from: this.from,
        label,
        statusCallback: this.twiml.legUrl(c.callId, role, id),
        statusCallbackEvent: ['answered', 'completed'],
        conferenceStatusCallback: this.twiml.statusUrl(c.callId),
        conferenceStatusCallbackEvent: [...CONFERENCE_EVENTS],
        timeoutSeconds: this.env.TRANSFER_RING_SECONDS,
        endConferenceOnExit: false,
      });
      this.records.leg(c.callId, leg.callSid, role);
      const now = await this.state.get(c.callId);
      if (now?.transfer && !now.transfer.leg) await this.state.setTransfer(c.callId, { ...now.transfer, leg: leg.callSid });
    } catch (e) {
      this.logger.warn(`transfer of call ${c.callId} failed at Twilio (status ${(e as { status?: number }).status ?? 'none'})`);
      const now = await this.state.get(c.callId);
      if (now) await this.releaseTransfer(now, 'failed');
      return { ok: false, error: 'transfer_failed' };
    }
    this.live.toOperator(operatorId, 'transfer:status', { callId: c.callId, state: 'ringing', mode: 'warm' });
    this.live.statsChanged();
    return { ok: true };
  }

  /**
   * A transfer that did not happen (declined, not answered, the target left before the handover):
   * the target is free again and the caller, off hold, is back with the transferring operator.
   */
  private async releaseTransfer(c: ConferenceCall, reason: string): Promise<void> {
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

  /** Warm: the transferring operator leaves; the call is the target's (or, external, the caller stays with the entry). */
  async complete(operatorId: string, callId: string): Promise<AckReply> {
    const m = await this.mine(operatorId, callId);
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
    await this.conferences.updateParticipant(c.conferenceSid!, c.callerLeg!, { hold: false }).catch(() => undefined);
    if (c.operatorLeg) await this.conferences.removeParticipant(c.conferenceSid!, c.operatorLeg).catch(() => undefined);
    this.live.toOperator(operatorId, 'transfer:status', { callId, state: 'completed', mode: t.mode });
    this.live.toOperator(operatorId, 'call:ended', { callId });
    await this.live.sendStatus(operatorId);
    if (t.id)
      await this.records.event({ kind: 'transfer_outcome', id: t.id, callId, outcome: 'completed', at: this.clock.now().toISOString() });
    this.live.statsChanged();
    return { ok: true };
  }

  /**
   * Cold: the operator goes to wrap-up; the caller goes back into Twilio's queue at the front,
   * offered at once to the named operator when they are free. The handover note is a note on the
   * call (records seals it under the call's data key), written by the console before this.
   */
  private async cold(c: ConferenceCall, operatorId: string, target: string | null, id: string, at: Date): Promise<AckReply> {
    const call = await this.store.call(c.callId);
    if (!call) return { ok: false, error: 'not_your_call' };
    const r = await this.store.transferCold(c.callId, operatorId, target);
    if (r.outcome === 'not_your_call') return { ok: false, error: 'not_your_call' };
    await this.state.setTransfer(c.callId, {
      id,
      mode: 'cold',
      by: operatorId,
      to: target ?? '',
      leg: null,
      at: at.getTime(),
      joined: false,
    });
    await this.state.set(c.callId, { op: '' });
    await this.records.event({
      kind: 'transfer',
      id,
      callId: c.callId,
      mode: 'cold',
      fromStaffId: operatorId,
      toStaffId: target,
      directoryId: null,
      directoryKind: null,
      at: at.toISOString(),
    });
    try {
      await this.twilio.updateCall(c.callerLeg!, this.callTwiml.requeue(c.callId, call.recordingConsent, r.enqueuedAt));
    } catch (e) {
      this.logger.warn(
        `call ${c.callId}: cold transfer could not move the caller (${isTwilioCallEnded(e) ? 'call gone' : 'Twilio error'})`,
      );
    }
    await this.conferences.endConference(c.conferenceSid!).catch(() => undefined);
    if (r.outcome === 'offered' && target && r.offerExpiresAt)
      this.live.offered(
        { callId: c.callId, operatorId: target, offerExpiresAt: r.offerExpiresAt, enqueuedAt: r.enqueuedAt },
        this.clock.nowMs(),
      );
    this.live.toOperator(operatorId, 'transfer:status', { callId: c.callId, state: 'completed', mode: 'cold' });
    this.live.toOperator(operatorId, 'call:ended', { callId: c.callId });
    await this.live.sendStatus(operatorId);
    this.engine.kick();
    this.live.statsChanged();
    return { ok: true };
  }

  // ---- supervision and help --------------------------------------------------------------------

  /**
   * Listen, coach or join, or change how (issue 24: fail closed). The supervision and its audit entry
   * (with the stated reason) are written in MySQL directly before anything of it happens: before the
   * supervisor's leg is dialled, before a change of mode reaches Twilio. If MySQL does not take the
   * write in time (away, slow, refusing), nothing happens: no leg, no change, the supervision state
   * undone, and the ack says `audit_unavailable` (the console: the listen-in could not be recorded, try
   * again). The write is never queued, so the reason never sits in a job.
   */
  async supervise(supervisorId: string, callId: string, mode: SupervisionMode, reason: string): Promise<AckReply> {
    const c = await this.state.get(callId);
    if (!c || c.ended || !c.operatorId) return { ok: false, error: 'not_a_live_call' };
    if (c.bridge !== 'conference' || !c.conferenceSid) return { ok: false, error: 'not_in_a_conference' };
    if (mode === 'coach' && !c.operatorLeg) return { ok: false, error: 'operator_not_connected' };
    const change =
      mode === 'listen'
        ? { muted: true, coaching: false }
        : mode === 'coach'
          ? { muted: false, coaching: true, callSidToCoach: c.operatorLeg! }
          : { muted: false, coaching: false };
    const at = this.clock.now().toISOString();
    const id = randomUUID();
    const entry = { kind: 'supervision', id, callId, supervisorId, mode, reason, at } as const;
    if (c.supervisor && c.supervisor.id !== supervisorId) return { ok: false, error: 'already_supervised' };
    if (c.supervisor?.leg) {
      // Already on the call: change how. Audited first, with its own reason; unrecorded, nothing changes.
      if ((await this.records.supervision(entry)) !== 'written') return this.auditUnavailable(callId, supervisorId, id);
      try {
        await this.conferences.updateParticipant(c.conferenceSid, c.supervisor.leg, change);
      } catch (e) {
        this.logger.warn(`supervisor leg of call ${callId} not changed by Twilio (status ${(e as { status?: number }).status ?? 'none'})`);
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
    if (!(await this.state.startSupervision(callId, supervisorId, mode))) return { ok: false, error: 'already_supervised' };
    await this.state.set(callId, { supRec: id });
    // Audited before anyone listens: no leg joins a call without its reason on record first.
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
        from: this.from,
        label: legLabel({ kind: 'sup', id: supervisorId }),
        statusCallback: this.twiml.legUrl(callId, 'sup', supervisorId),
        statusCallbackEvent: ['answered', 'completed'],
        conferenceStatusCallback: this.twiml.statusUrl(callId),
        conferenceStatusCallbackEvent: [...CONFERENCE_EVENTS],
        timeoutSeconds: 20,
        muted: change.muted,
        ...(change.coaching ? { coaching: true, callSidToCoach: change.callSidToCoach } : {}),
        endConferenceOnExit: false,
      });
      this.records.leg(callId, leg.callSid, 'sup');
      const now = await this.state.get(callId);
      if (now?.supervisor?.id === supervisorId && !now.supervisor.leg) await this.state.set(callId, { supLeg: leg.callSid });
    } catch (e) {
      this.logger.warn(`supervisor leg for call ${callId} refused by Twilio (status ${(e as { status?: number }).status ?? 'none'})`);
      await this.supervisionOver({ ...c, supervisor: { id: supervisorId, mode, leg: null, joined: false } }, id);
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
    await this.supervisionOver(c);
    return { ok: true };
  }

  /** The supervisor is off the call (left, removed, or the call ended): the operator is told, the record closed. */
  private async supervisionOver(c: ConferenceCall, recordId?: string): Promise<void> {
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

  /** The operator asks for help: every supervisor's wallboard hears it, with the call's risk level. */
  async help(operatorId: string, callId: string): Promise<AckReply> {
    const call = await this.store.call(callId);
    if (!call || call.state !== 'connected' || call.operatorId !== operatorId) return { ok: false, error: 'not_your_call' };
    const c = await this.state.get(callId);
    const now = this.clock.nowMs();
    const since = c?.helpAt ?? now;
    if (c) await this.state.set(callId, { help: since });
    const riskLevel = await this.riskLevel(callId);
    this.live.toSupervisors('help:requested', {
      callId,
      operatorId,
      riskLevel,
      at: new Date(since).toISOString(),
      waitingSeconds: Math.max(0, Math.floor((now - since) / 1000)),
    });
    this.live.statsChanged();
    return { ok: true };
  }

  private async riskLevel(callId: string): Promise<RiskLevel> {
    try {
      return await withTimeout(
        this.db.get().then((ds) => callRiskLevel(ds, callId)),
        LOOKUP_MS,
      );
    } catch {
      return 'none';
    }
  }
}
