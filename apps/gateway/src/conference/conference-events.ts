import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@hotline/clock';
import { counter } from '@hotline/observability';
import { ConferenceCall, ConferenceState, parseLegLabel } from '@hotline/routing';
import { TwilioConferences } from '@hotline/twilio';
import { CallRecordsService } from '../calls/call-records.service';
import { LiveEvents } from '../live/live-events';
import { TwilioParams, isCallSid, isConferenceSid, isId, isRecordingSid, sequenceNumber, str } from '../webhooks/twilio-params';
import { OperatorLeg } from './operator-leg';
import { Supervision } from './supervision';
import { TransferReleases } from './transfer-releases';
import { Transfers } from './transfers';
import { ConferenceLegFields, ConferenceRecordingFields, ConferenceStatusFields } from '../webhooks/twilio-fields';

const FAILED_LEG = new Set(['no-answer', 'busy', 'failed', 'canceled']);
const conferenceCallbacks = counter('hotline_conference_callbacks_total', 'Conference status callbacks by event and outcome', [
  'event',
  'outcome',
]);

/**
 * Twilio's conference callbacks, read here and handed on as plain values: a REST-added leg's call
 * progress, the conference's and its participants' status events, the conference recording. Each
 * status event is applied once (ConferenceSid + SequenceNumber) and only when newer than what was
 * applied for the same leg: Twilio sends each as its own request, in no guaranteed order.
 */
@Injectable()
export class ConferenceEvents {
  private readonly logger = new Logger(ConferenceEvents.name);

  constructor(
    private readonly state: ConferenceState,
    private readonly conferences: TwilioConferences,
    private readonly records: CallRecordsService,
    private readonly live: LiveEvents,
    private readonly clock: Clock,
    private readonly operatorLeg: OperatorLeg,
    private readonly transfers: Transfers,
    private readonly releases: TransferReleases,
    private readonly supervision: Supervision,
  ) {}

  /** A REST-added leg's call progress: answered, or never (no-answer, busy, failed). */
  async leg(query: TwilioParams, params: ConferenceLegFields): Promise<void> {
    const callId = str(query.c);
    const role = str(query.r);
    const id = str(query.i);
    const status = str(params.CallStatus);
    if (!isId(callId)) return;
    const answered = status === 'in-progress' || status === 'answered';
    const failed = FAILED_LEG.has(status) ? status : null;
    if (!answered && !failed) return;
    const legSid = str(params.CallSid);
    const sid = isCallSid(legSid) ? legSid : null;
    if (sid) this.records.leg(callId, sid, role);
    if (role === 'op' && isId(id)) return failed ? this.operatorLeg.missed(callId, id, status) : this.operatorLeg.answered(callId, id, sid);
    if ((role === 'xfer' && isId(id)) || (role === 'ext' && /^[a-z0-9-]{1,64}$/.test(id)))
      return this.transfers.targetLeg(callId, role, id, failed, sid);
    if (role === 'sup' && isId(id) && failed) return this.supervision.legFailed(callId, id);
  }

  /** The conference's recording: linked to the call (the caller's CallSid), with its retention deadline. */
  async recording(query: TwilioParams, params: ConferenceRecordingFields): Promise<void> {
    const callId = str(query.c);
    const recordingSid = str(params.RecordingSid);
    if (!isId(callId) || !isRecordingSid(recordingSid) || !isConferenceSid(str(params.ConferenceSid))) return;
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

  /** Conference and participant status callbacks: the conference's SID, who joined and left, hold, supervision. */
  async status(query: TwilioParams, params: ConferenceStatusFields): Promise<void> {
    const callId = str(query.c);
    const sid = str(params.ConferenceSid);
    const event = str(params.StatusCallbackEvent);
    const seq = str(params.SequenceNumber);
    if (!isId(callId) || !isConferenceSid(sid) || !/^[a-z-]{3,40}$/.test(event) || str(params.FriendlyName) !== callId) return;
    const sequence = sequenceNumber(seq);
    if (sequence !== null && !(await this.state.firstTime(sid, seq))) {
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
    // A leg's presence and its hold are applied only when newer (by SequenceNumber) than what was
    // applied for them already, so a late `participant-hold` after an unhold does not put the caller back on hold.
    const aspect = event.endsWith('hold')
      ? `hold:${legSid}`
      : event === 'participant-join' || event === 'participant-leave'
        ? `leg:${legSid}`
        : null;
    if (aspect && sequence !== null && isCallSid(legSid) && !(await this.state.newest(sid, aspect, sequence))) {
      conferenceCallbacks.inc({ event, outcome: 'superseded' });
      return;
    }
    if (event === 'conference-start' && !c.conferenceSid) {
      await this.state.setConferenceSid(callId, sid);
      await this.records.event({ kind: 'bridged', callId, bridge: 'conference', conferenceSid: sid });
    } else if (event === 'participant-join') await this.joined(c, role, isCallSid(legSid) ? legSid : null);
    else if ((event === 'participant-hold' || event === 'participant-unhold') && role?.kind === 'caller')
      await this.callerHold(c, event === 'participant-hold');
    else if (event === 'participant-leave') await this.left(c, sid, role);
    else if (event === 'conference-end') {
      if (c.supervisor) await this.supervision.over(c);
      await this.state.ended(callId);
      this.live.statsChanged();
    }
  }

  private async joined(c: ConferenceCall, role: ReturnType<typeof parseLegLabel>, legSid: string | null): Promise<void> {
    const callId = c.callId;
    if (role && role.kind !== 'caller' && legSid) this.records.leg(callId, legSid, role.kind);
    if (role?.kind === 'caller' && legSid) await this.state.set(callId, { caller: legSid });
    if (role?.kind === 'op' && role.id === c.operatorId && legSid) await this.state.set(callId, { opLeg: legSid });
    if (role?.kind === 'sup' && c.supervisor?.id === role.id) {
      await this.state.set(callId, { supLeg: legSid ?? '', supJoined: '1' });
      if (c.operatorId) this.live.toOperator(c.operatorId, 'supervision', { callId, mode: c.supervisor.mode });
    }
    this.live.statsChanged();
  }

  private async callerHold(c: ConferenceCall, hold: boolean): Promise<void> {
    const since = this.clock.nowMs();
    await this.state.set(c.callId, { holdSince: hold ? since : '' });
    if (c.operatorId)
      this.live.toOperator(
        c.operatorId,
        'call:hold_state',
        hold ? { callId: c.callId, onHold: true, since: new Date(since).toISOString() } : { callId: c.callId, onHold: false },
      );
    this.live.statsChanged();
  }

  private async left(c: ConferenceCall, sid: string, role: ReturnType<typeof parseLegLabel>): Promise<void> {
    if (!role) return;
    if (role.kind === 'sup' && c.supervisor?.id === role.id) return this.supervision.over(c);
    if (role.kind === 'op' && c.transfer && c.transfer.to === role.id) return this.releases.release(c, 'target_left');
    if (role.kind === 'ext' && c.transfer && c.transfer.to === `dir:${role.id}` && c.operatorId)
      return this.releases.release(c, 'target_left');
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
}
