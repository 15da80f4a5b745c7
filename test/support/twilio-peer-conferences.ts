import { randomBytes } from 'crypto';
import type { PeerCall, PeerCore } from './twilio-peer';
import { parseXml } from './twiml-xml';

/**
 * Twilio's Conferences and their Participants, as the local peer plays them:
 *
 * - `<Dial><Conference …>name</Conference></Dial>` in a call's TwiML joins that call to the
 *   conference named `name` (made on first use); `participants.create` (REST) dials a new leg (a
 *   Call of its own, `outbound-api`) that joins once answered: a `client:` leg rings the identity's
 *   Voice SDK devices (./twilio-peer-devices.ts) until one accepts or rejects it or it rings out, a
 *   number rings the callee (TwilioPeer.callees);
 * - a conference starts only when a participant with `startConferenceOnEnter` is in it with at
 *   least one other; until then each participant who came with a `waitUrl` hears it: the peer
 *   fetches it and plays it, looping only where its TwiML says so (`<Redirect>`, `<Play loop="0">`);
 *   it may hold only `<Say>`, `<Play>`, `<Pause>` and `<Redirect>` (Twilio's error 13238);
 * - participant update: `Hold` (with `HoldUrl`, fetched and played the same way), `Muted`, `Coaching` +
 *   `CallSidToCoach`; participant remove (its call hangs up); the conference ended (`Status=completed`);
 *   a participant with `endConferenceOnExit` who leaves ends the conference for everyone;
 * - the conference's `StatusCallback` hears the events asked for (TwiML's `start end join leave mute
 *   hold modify`, REST's `ConferenceStatusCallbackEvent`) with Twilio's parameters, through
 *   PeerWebhooks: concurrently, out of order, some twice; each carries its SequenceNumber;
 * - a recorded conference posts its recording's callback after the conference and its calls ended.
 */
export interface PeerParticipant {
  callSid: string;
  label: string | null;
  /** Who the leg dialled (REST-added legs), e.g. `client:op-…` (without its parameters) or a number; null for a call joined by TwiML. */
  to: string | null;
  status: 'queued' | 'connecting' | 'ringing' | 'connected' | 'complete' | 'failed';
  muted: boolean;
  hold: boolean;
  holdUrl: string | null;
  holdMethod: 'GET' | 'POST';
  coaching: boolean;
  callSidToCoach: string | null;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  waitUrl: string | null;
  waitMethod: 'GET' | 'POST';
  /** How many times its wait and hold URLs were fetched. */
  waitFetches: number;
  holdFetches: number;
}

export interface PeerConference {
  sid: string;
  friendlyName: string;
  status: 'init' | 'in-progress' | 'completed';
  participants: Map<string, PeerParticipant>;
  /** Everyone who ever joined, in order (call SIDs). */
  joined: string[];
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  events: Set<string>;
  record: boolean;
  recordingStatusCallback: string | null;
  recordingSids: string[];
  sequence: number;
  startedAt: number | null;
  createdAt: number;
}

/** A callback the conference sent (in the order it was generated; delivery order is PeerWebhooks'). */
export interface PeerCallback {
  url: string;
  params: Record<string, string>;
}

/** TwiML's short event names to the StatusCallbackEvent values Twilio posts. */
const TWIML_EVENTS: Record<string, string[]> = {
  start: ['conference-start'],
  end: ['conference-end'],
  join: ['participant-join'],
  leave: ['participant-leave'],
  mute: ['participant-mute', 'participant-unmute'],
  hold: ['participant-hold', 'participant-unhold'],
  modify: ['participant-modify'],
  speaker: [],
  announcement: [],
};

type Reply = { status: number; body: unknown };

const MUSIC_VERBS = new Set(['Say', 'Play', 'Pause', 'Redirect']);

export class PeerConferences {
  /** Every conference ever made, by SID. */
  readonly all = new Map<string, PeerConference>();
  readonly callbacks: PeerCallback[] = [];
  /** `To`s (numbers, or `client:<identity>`) whose legs ring out unanswered (no-answer) or are declined (busy). */
  readonly noAnswer = new Set<string>();
  readonly declines = new Set<string>();
  /** When set, creating a conference (a participant into a new one) fails with this status. */
  failCreate?: number;
  /** Problems with the TwiML the gateway gave for waiting or hold music (a test fails on any). */
  readonly musicProblems: string[] = [];
  /** Each REST-added leg that answered (the demo names them). */
  onParticipantAdded?: (c: PeerConference, p: PeerParticipant) => void;
  private readonly music = new Map<string, { stop: () => void }>();

  constructor(private readonly core: PeerCore) {}

  /** Where callbacks go (the gateway's own address for the public URL they name). */
  set deliverTo(d: { publicUrl: string; gatewayUrl: string } | undefined) {
    this.core.webhooks.deliverTo = d;
  }

  get deliverTo(): { publicUrl: string; gatewayUrl: string } | undefined {
    return this.core.webhooks.deliverTo;
  }

  /** The conference in progress (or starting) with this friendly name or SID. */
  live(nameOrSid: string): PeerConference | undefined {
    const bySid = this.all.get(nameOrSid);
    if (bySid && bySid.status !== 'completed') return bySid;
    return [...this.all.values()].find((c) => c.friendlyName === nameOrSid && c.status !== 'completed');
  }

  /** The newest conference of that name, ended or not. */
  named(name: string): PeerConference | undefined {
    return [...this.all.values()].filter((c) => c.friendlyName === name).at(-1);
  }

  /** The conference a call is in now. */
  of(callSid: string): PeerConference | undefined {
    return [...this.all.values()].find((c) => c.status !== 'completed' && c.participants.has(callSid));
  }

  /** Resolves when every callback sent so far (and every leg still ringing) is over. */
  settled(): Promise<void> {
    return this.core.settled();
  }

  /** The callbacks of one conference's events, in the order they happened (`StatusCallbackEvent` values). */
  eventsOf(name: string): string[] {
    const sids = new Set([...this.all.values()].filter((c) => c.friendlyName === name).map((c) => c.sid));
    return this.callbacks
      .filter((c) => sids.has(c.params.ConferenceSid) && c.params.StatusCallbackEvent)
      .map((c) => c.params.StatusCallbackEvent);
  }

  /** The caller (or any leg) hangs up. */
  hangUp(callSid: string): void {
    const call = this.core.calls.get(callSid);
    if (call) this.core.complete(call, 'completed');
    else {
      const c = this.of(callSid);
      if (c) this.leave(c, callSid, 'hangup');
    }
  }

  /** `<Dial><Conference>` in a call's TwiML: the call joins. Resolves when it has left the conference. */
  joinByTwiml(call: PeerCall, attrs: Record<string, string>, name: string): Promise<void> {
    let c = this.live(name);
    if (!c)
      c = this.create(
        name,
        attrs.statusCallback ?? null,
        (attrs.statusCallbackMethod as 'GET' | 'POST') ?? 'POST',
        eventsFromTwiml(attrs.statusCallbackEvent),
        attrs.record === 'record-from-start',
        attrs.recordingStatusCallback ?? null,
      );
    const conf = c;
    return new Promise<void>((resolve) => {
      call.onLeaveConference = resolve;
      this.join(conf, {
        callSid: call.sid,
        label: attrs.participantLabel ?? null,
        to: null,
        status: 'connected',
        muted: attrs.muted === 'true',
        hold: false,
        holdUrl: null,
        holdMethod: 'POST',
        coaching: !!attrs.coach,
        callSidToCoach: attrs.coach ?? null,
        startConferenceOnEnter: attrs.startConferenceOnEnter !== 'false',
        endConferenceOnExit: attrs.endConferenceOnExit === 'true',
        waitUrl: attrs.waitUrl ?? null,
        waitMethod: (attrs.waitMethod as 'GET' | 'POST') ?? 'POST',
        waitFetches: 0,
        holdFetches: 0,
      });
    });
  }

  /** The call stopped being in its conference (hung up, redirected, removed). */
  callLeft(callSid: string, reason: string): void {
    const c = this.of(callSid);
    if (c) this.leave(c, callSid, reason);
  }

  rest(
    method: string,
    confId: string | null,
    participants: boolean,
    callSid: string | null,
    params: Record<string, string>,
    multi: URLSearchParams,
    query: URLSearchParams,
  ): Reply {
    if (!confId && method === 'GET') {
      const name = query.get('FriendlyName');
      const status = query.get('Status');
      const list = [...this.all.values()].filter((c) => (!name || c.friendlyName === name) && (!status || c.status === status));
      return {
        status: 200,
        body: page(
          'conferences',
          list.map((c) => this.confJson(c)),
        ),
      };
    }
    if (!confId) return notFound();
    if (!participants) {
      const c = this.all.get(confId) ?? this.live(confId);
      if (!c) return notFound();
      if (method === 'POST' && params.Status === 'completed') this.end(c, null, 'conference-ended-via-api');
      return { status: 200, body: this.confJson(c) };
    }
    if (!callSid && method === 'POST') return this.addParticipant(confId, params, multi);
    const c = this.all.get(confId) ?? this.live(confId);
    if (!c || c.status === 'completed') return notFound();
    if (!callSid && method === 'GET')
      return {
        status: 200,
        body: page(
          'participants',
          [...c.participants.values()].map((p) => this.partJson(c, p)),
        ),
      };
    const p = callSid ? (c.participants.get(callSid) ?? [...c.participants.values()].find((x) => x.label === callSid)) : undefined;
    if (!p) return notFound();
    if (method === 'DELETE') {
      const call = this.core.calls.get(p.callSid);
      // Removed from the conference, the participant's call hangs up.
      if (call) this.core.complete(call, 'completed', 'participant-removed-via-api');
      else this.leave(c, p.callSid, 'participant-removed-via-api');
      return { status: 204, body: null };
    }
    if (method === 'POST') {
      this.update(c, p, params);
      return { status: 200, body: this.partJson(c, p) };
    }
    return { status: 200, body: this.partJson(c, p) };
  }

  private addParticipant(confId: string, params: Record<string, string>, multi: URLSearchParams): Reply {
    if (!params.To || !params.From) return { status: 400, body: { code: 21604, message: "A 'To' and a 'From' are required", status: 400 } };
    let c = this.all.get(confId) ?? this.live(confId);
    if (!c) {
      if (/^CF[0-9a-f]{32}$/.test(confId)) return notFound();
      if (this.failCreate)
        return { status: this.failCreate, body: { code: 20500, message: 'Internal Server Error', status: this.failCreate } };
      c = this.create(
        confId,
        params.ConferenceStatusCallback ?? null,
        (params.ConferenceStatusCallbackMethod as 'GET' | 'POST') ?? 'POST',
        eventsFromTwiml(multi.getAll('ConferenceStatusCallbackEvent').join(' ')),
        params.ConferenceRecord === 'record-from-start' || params.ConferenceRecord === 'true',
        params.ConferenceRecordingStatusCallback ?? null,
      );
    }
    if (params.Coaching === 'true' && !c.participants.has(params.CallSidToCoach ?? ''))
      return { status: 400, body: { code: 16028, message: 'CallSidToCoach is not a participant of this conference', status: 400 } };
    const conf = c;
    const address = params.To;
    const bare = address.split('?')[0];
    const call = this.core.outbound({
      from: params.From,
      to: address,
      statusCallback: params.StatusCallback ?? null,
      statusCallbackMethod: (params.StatusCallbackMethod as 'GET' | 'POST') ?? 'POST',
      statusCallbackEvents: multi.getAll('StatusCallbackEvent').flatMap((e) => e.split(/[\s,]+/)),
      timeoutSeconds: Number(params.Timeout ?? 60),
    });
    call.conference = conf.friendlyName;
    const p: PeerParticipant = {
      callSid: call.sid,
      label: params.Label ?? null,
      to: bare,
      status: 'ringing',
      muted: params.Muted === 'true',
      hold: false,
      holdUrl: null,
      holdMethod: 'POST',
      coaching: params.Coaching === 'true',
      callSidToCoach: params.Coaching === 'true' ? (params.CallSidToCoach ?? null) : null,
      startConferenceOnEnter: params.StartConferenceOnEnter !== 'false',
      endConferenceOnExit: params.EndConferenceOnExit === 'true',
      waitUrl: params.WaitUrl ?? null,
      waitMethod: (params.WaitMethod as 'GET' | 'POST') ?? 'POST',
      waitFetches: 0,
      holdFetches: 0,
    };
    const forced = this.noAnswer.has(bare) ? ('no-answer' as const) : this.declines.has(bare) ? ('busy' as const) : undefined;
    void this.core.ringOut(call, forced).then((answered) => {
      if (!answered) {
        p.status = 'failed';
        return;
      }
      if (conf.status === 'completed') {
        // The conference ended while this leg rang: it has nowhere to go.
        this.core.complete(call, 'completed');
        return;
      }
      p.status = 'connected';
      call.onLeaveConference = () => undefined;
      this.join(conf, p);
      this.onParticipantAdded?.(conf, p);
    });
    return { status: 201, body: this.partJson(conf, p) };
  }

  private create(
    name: string,
    statusCallback: string | null,
    statusCallbackMethod: 'GET' | 'POST',
    events: Set<string> | string[],
    record: boolean,
    recordingStatusCallback: string | null,
  ): PeerConference {
    const c: PeerConference = {
      sid: 'CF' + randomBytes(16).toString('hex'),
      friendlyName: name,
      status: 'init',
      participants: new Map(),
      joined: [],
      statusCallback,
      statusCallbackMethod,
      events: new Set(events),
      record,
      recordingStatusCallback,
      recordingSids: [],
      sequence: 0,
      startedAt: null,
      createdAt: Date.now(),
    };
    this.all.set(c.sid, c);
    return c;
  }

  private join(c: PeerConference, p: PeerParticipant): void {
    c.participants.set(p.callSid, p);
    c.joined.push(p.callSid);
    this.event(c, 'participant-join', p);
    this.maybeStart(c);
    if (c.status !== 'in-progress' && p.waitUrl) this.play(`wait:${p.callSid}`, p, 'wait', p.waitUrl, p.waitMethod);
  }

  /** Twilio starts a conference once someone who starts it is in it with at least one other. */
  private maybeStart(c: PeerConference): void {
    if (c.status !== 'init') return;
    const ps = [...c.participants.values()];
    if (ps.length < 2 || !ps.some((p) => p.startConferenceOnEnter)) return;
    c.status = 'in-progress';
    c.startedAt = Date.now();
    for (const p of ps) this.stopMusic(`wait:${p.callSid}`);
    this.event(c, 'conference-start', null);
  }

  private update(c: PeerConference, p: PeerParticipant, params: Record<string, string>): void {
    if (params.Hold !== undefined) {
      const hold = params.Hold === 'true';
      if (hold !== p.hold) {
        p.hold = hold;
        p.holdUrl = hold ? (params.HoldUrl ?? null) : null;
        p.holdMethod = (params.HoldMethod as 'GET' | 'POST') ?? 'GET';
        this.event(c, hold ? 'participant-hold' : 'participant-unhold', p);
        if (hold && p.holdUrl) this.play(`hold:${p.callSid}`, p, 'hold', p.holdUrl, p.holdMethod);
        if (!hold) this.stopMusic(`hold:${p.callSid}`);
      }
    }
    if (params.Muted !== undefined) {
      const muted = params.Muted === 'true';
      if (muted !== p.muted) {
        p.muted = muted;
        this.event(c, muted ? 'participant-mute' : 'participant-unmute', p);
      }
    }
    if (params.Coaching !== undefined || params.CallSidToCoach !== undefined) {
      p.coaching = params.Coaching === 'true';
      p.callSidToCoach = p.coaching ? (params.CallSidToCoach ?? p.callSidToCoach) : null;
      this.event(c, 'participant-modify', p);
    }
  }

  private leave(c: PeerConference, callSid: string, reason: string): void {
    const p = c.participants.get(callSid);
    if (!p) return;
    c.participants.delete(callSid);
    p.status = 'complete';
    this.stopMusic(`wait:${callSid}`);
    this.stopMusic(`hold:${callSid}`);
    this.event(c, 'participant-leave', p, { Reason: reason });
    const call = this.core.calls.get(callSid);
    const done = call?.onLeaveConference;
    if (call) call.onLeaveConference = undefined;
    if (p.endConferenceOnExit) this.end(c, callSid, 'participant-with-end-conference-on-exit-left');
    else if (c.participants.size === 0) this.end(c, null, 'last-participant-left');
    done?.();
  }

  private end(c: PeerConference, endingCallSid: string | null, reason: string): void {
    if (c.status === 'completed') return;
    const others = [...c.participants.values()];
    const ended = c.status === 'in-progress' || c.startedAt !== null;
    c.status = 'completed';
    for (const other of others) {
      c.participants.delete(other.callSid);
      other.status = 'complete';
      this.stopMusic(`wait:${other.callSid}`);
      this.stopMusic(`hold:${other.callSid}`);
      this.event(c, 'participant-leave', other, { Reason: reason });
      const call = this.core.calls.get(other.callSid);
      const done = call?.onLeaveConference;
      if (call) call.onLeaveConference = undefined;
      // A REST-added leg has nothing after the conference: it hangs up. A TwiML-joined call goes on
      // with its document (its <Dial> ends).
      if (call && call.direction === 'outbound-api') this.core.complete(call, 'completed');
      done?.();
    }
    this.event(c, 'conference-end', null, {
      ReasonConferenceEnded: reason,
      ...(endingCallSid ? { CallSidEndingConference: endingCallSid } : {}),
    });
    if (c.record && ended && c.recordingStatusCallback) {
      const sid = 'RE' + randomBytes(16).toString('hex');
      c.recordingSids.push(sid);
      const started = c.startedAt ?? c.createdAt;
      // Twilio posts a recording once it is processed: after the conference, and its calls, ended.
      this.core.later(200 + Math.floor(this.core.random() * 300), () =>
        this.core.webhooks.callback(c.recordingStatusCallback, {
          AccountSid: this.core.accountSid,
          ConferenceSid: c.sid,
          RecordingSid: sid,
          RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${this.core.accountSid}/Recordings/${sid}`,
          RecordingStatus: 'completed',
          RecordingDuration: String(Math.round((Date.now() - started) / 1000)),
          RecordingChannels: '1',
          RecordingSource: 'Conference',
          RecordingStartTime: new Date(started).toUTCString(),
        }),
      );
    }
  }

  // ---- music: waitUrl and holdUrl ----------------------------------------------------------------

  /**
   * Fetches a wait or hold URL and plays its TwiML: `<Say>`, `<Play>` and `<Pause>` take their time,
   * `<Redirect>` fetches again, and when the document ends the participant hears silence (Twilio
   * loops nothing the TwiML does not loop). Any other verb is refused, as Twilio refuses it (13238).
   */
  private play(key: string, p: PeerParticipant, kind: 'wait' | 'hold', url: string, method: 'GET' | 'POST'): void {
    this.stopMusic(key);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    this.music.set(key, {
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    });
    const call = this.core.calls.get(p.callSid);
    const fetchAndPlay = async (target: string, how: 'GET' | 'POST', round: number): Promise<void> => {
      if (stopped || round > 500) return;
      if (kind === 'wait') p.waitFetches++;
      else p.holdFetches++;
      const twiml = await this.core.webhooks.fetchTwiml(target, call ? this.core.voiceParams(call) : {}, how);
      if (stopped || twiml === null) return;
      const doc = parseXml(twiml);
      if (doc.name !== 'Response') {
        // Not TwiML: Twilio plays it as audio, once.
        return;
      }
      let ms = 0;
      for (const verb of doc.children) {
        if (!MUSIC_VERBS.has(verb.name)) {
          this.musicProblems.push(`${new URL(target).pathname}: <${verb.name}> is not allowed in ${kind} music (Twilio error 13238)`);
          return;
        }
        if (verb.name === 'Pause') ms += Number(verb.attrs.length ?? 1) * 1000 * this.core.realism.timeScale;
        if (verb.name === 'Say' || verb.name === 'Play') {
          const loop = Number(verb.attrs.loop ?? 1);
          ms += Math.max(1, loop === 0 ? Infinity : loop) * 2000 * this.core.realism.timeScale;
        }
        if (verb.name === 'Redirect') {
          const next = new URL(verb.text.trim() || target, target).toString();
          timer = setTimeout(() => void fetchAndPlay(next, (verb.attrs.method as 'GET' | 'POST') ?? 'POST', round + 1), Math.max(20, ms));
          return;
        }
        if (!Number.isFinite(ms)) return; // <Say loop="0">: plays until stopped
      }
      // The document ended: silence until the music is stopped.
    };
    void fetchAndPlay(url, method, 0);
  }

  private stopMusic(key: string): void {
    this.music.get(key)?.stop();
    this.music.delete(key);
  }

  private event(c: PeerConference, event: string, p: PeerParticipant | null, extra: Record<string, string> = {}): void {
    const sequence = ++c.sequence;
    if (!c.statusCallback || !c.events.has(event)) return;
    const params: Record<string, string> = {
      AccountSid: this.core.accountSid,
      ConferenceSid: c.sid,
      FriendlyName: c.friendlyName,
      StatusCallbackEvent: event,
      SequenceNumber: String(sequence),
      Timestamp: new Date().toUTCString(),
      ...(p
        ? {
            CallSid: p.callSid,
            Muted: String(p.muted),
            Hold: String(p.hold),
            Coaching: String(p.coaching),
            EndConferenceOnExit: String(p.endConferenceOnExit),
            StartConferenceOnEnter: String(p.startConferenceOnEnter),
            ...(p.label ? { ParticipantLabel: p.label } : {}),
          }
        : {}),
      ...extra,
    };
    this.callbacks.push({ url: c.statusCallback, params });
    this.core.webhooks.callback(c.statusCallback, params, c.statusCallbackMethod);
  }

  private confJson(c: PeerConference): Record<string, unknown> {
    return {
      sid: c.sid,
      account_sid: this.core.accountSid,
      friendly_name: c.friendlyName,
      status: c.status,
      uri: `/2010-04-01/Accounts/${this.core.accountSid}/Conferences/${c.sid}.json`,
    };
  }

  private partJson(c: PeerConference, p: PeerParticipant): Record<string, unknown> {
    return {
      account_sid: this.core.accountSid,
      call_sid: p.callSid,
      conference_sid: c.sid,
      label: p.label,
      muted: p.muted,
      hold: p.hold,
      coaching: p.coaching,
      call_sid_to_coach: p.callSidToCoach,
      status: p.status,
      start_conference_on_enter: p.startConferenceOnEnter,
      end_conference_on_exit: p.endConferenceOnExit,
      uri: `/2010-04-01/Accounts/${this.core.accountSid}/Conferences/${c.sid}/Participants/${p.callSid}.json`,
    };
  }
}

export function page(key: string, items: unknown[], uri = ''): Record<string, unknown> {
  return {
    [key]: items,
    first_page_uri: uri,
    next_page_uri: null,
    previous_page_uri: null,
    page: 0,
    page_size: 100,
    start: 0,
    end: Math.max(0, items.length - 1),
    uri,
  };
}

function notFound(): Reply {
  return { status: 404, body: { code: 20404, message: 'The requested resource was not found', status: 404 } };
}

function eventsFromTwiml(attr: string | undefined): Set<string> {
  return new Set((attr ?? '').split(/[\s,]+/).flatMap((e) => TWIML_EVENTS[e] ?? []));
}
