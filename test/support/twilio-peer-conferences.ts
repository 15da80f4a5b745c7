import { randomBytes } from 'crypto';
import twilio from 'twilio';

/**
 * Twilio's Conferences and their Participants, as the local peer plays them. What it models:
 *
 * - `<Dial><Conference …>name</Conference></Dial>` in a call update joins that call to the conference
 *   named `name` (created on first join; `conference-start` when a participant who starts it joins);
 * - `participants.create` (REST) dials a new leg (`To`: `client:…` or a number) into the conference
 *   named in the path (created if there is none in progress): the leg answers (its StatusCallback
 *   hears `answered` … `in-progress`) and joins, unless its `To` is in `noAnswer` (then `no-answer`,
 *   and it never joins) or `declines` (then `busy`);
 * - participant update: `Hold` (+`HoldUrl`), `Muted`, `Coaching` + `CallSidToCoach`;
 *   participant remove; the conference ended (`Status=completed`);
 * - a participant with `EndConferenceOnExit` who leaves ends the conference (everyone else leaves);
 * - status callbacks: the conference's `StatusCallback` gets `conference-start`, `conference-end`,
 *   `participant-join`, `participant-leave`, `participant-hold`, `participant-unhold`,
 *   `participant-mute`, `participant-unmute`, `participant-modify` (the events asked for: TwiML's
 *   `start end join leave mute hold modify`, REST's `ConferenceStatusCallbackEvent`), each with
 *   Twilio's parameters (ConferenceSid, FriendlyName, StatusCallbackEvent, SequenceNumber,
 *   Timestamp, CallSid, Hold, Muted, Coaching, …) and signed as Twilio signs webhooks; a recorded
 *   conference posts its recording callback when it ends.
 *
 * Callbacks are posted in order, one at a time (`settled()` waits for all sent so far), to
 * `deliverTo` (the gateway's address), signed for the public URL they name.
 */
export interface PeerParticipant {
  callSid: string;
  label: string | null;
  /** Who the leg dialled (REST-added legs), e.g. `client:op-…` or a number; null for a call joined by TwiML. */
  to: string | null;
  status: 'ringing' | 'connected' | 'complete' | 'failed';
  muted: boolean;
  hold: boolean;
  holdUrl: string | null;
  coaching: boolean;
  callSidToCoach: string | null;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
}

export interface PeerConference {
  sid: string;
  friendlyName: string;
  status: 'init' | 'in-progress' | 'completed';
  participants: Map<string, PeerParticipant>;
  /** Everyone who ever joined, in order (call SIDs). */
  joined: string[];
  statusCallback: string | null;
  events: Set<string>;
  record: boolean;
  recordingStatusCallback: string | null;
  sequence: number;
  startedAt: number;
}

export interface PeerCallback {
  url: string;
  params: Record<string, string>;
  status: number;
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
};

type Reply = { status: number; body: unknown };

export class PeerConferences {
  /** Every conference ever made, by SID. */
  readonly all = new Map<string, PeerConference>();
  readonly callbacks: PeerCallback[] = [];
  /** `To`s whose legs ring out unanswered (no-answer) or are declined (busy). */
  readonly noAnswer = new Set<string>();
  readonly declines = new Set<string>();
  /** How long an unanswered or declined leg rings before Twilio reports it (ms). */
  ringMs = 300;
  /** When set, creating a conference (a participant into a new one) fails with this status. */
  failCreate?: number;
  /** Where callbacks go: the public URL they name is rebased onto this (the gateway's own address). */
  deliverTo?: { publicUrl: string; gatewayUrl: string };
  /** Each REST-added leg that answered, with its StatusCallback (the demo plays these). */
  onParticipantAdded?: (c: PeerConference, p: PeerParticipant) => void;
  private chain: Promise<void> = Promise.resolve();
  private readonly ringing = new Set<Promise<void>>();

  constructor(
    private readonly accountSid: string,
    private readonly authToken: string,
  ) {}

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

  /** Resolves when every callback sent so far (and every leg still ringing out) has been answered. */
  async settled(): Promise<void> {
    while (this.ringing.size) await Promise.all([...this.ringing]);
    await this.chain;
  }

  /** The callbacks of one conference's events, in order (`StatusCallbackEvent` values). */
  eventsOf(name: string): string[] {
    const sids = new Set([...this.all.values()].filter((c) => c.friendlyName === name).map((c) => c.sid));
    return this.callbacks
      .filter((c) => sids.has(c.params.ConferenceSid) && c.params.StatusCallbackEvent)
      .map((c) => c.params.StatusCallbackEvent);
  }

  /** A call update (new TwiML, or Status=completed): the call leaves its conference; a `<Dial><Conference>` joins one. */
  callChanged(callSid: string, params: Record<string, string>): void {
    const current = this.of(callSid);
    if (current) this.leave(current, callSid, params.Status === 'completed' ? 'hangup' : 'participant-updated-via-api');
    const twiml = params.Twiml ?? '';
    const m = /<Dial\b[^>]*>\s*<Conference\b([^>]*)>([^<]*)<\/Conference>/.exec(twiml);
    if (!m) return;
    const attrs = attrsOf(m[1]);
    const name = decode(m[2].trim());
    let c = this.live(name);
    if (!c)
      c = this.create(
        name,
        attrs.statusCallback ?? null,
        eventsFromTwiml(attrs.statusCallbackEvent),
        attrs.record === 'record-from-start',
        attrs.recordingStatusCallback ?? null,
      );
    this.join(c, {
      callSid,
      label: attrs.participantLabel ?? null,
      to: null,
      status: 'connected',
      muted: attrs.muted === 'true',
      hold: false,
      holdUrl: null,
      coaching: !!attrs.coach,
      callSidToCoach: attrs.coach ?? null,
      startConferenceOnEnter: attrs.startConferenceOnEnter !== 'false',
      endConferenceOnExit: attrs.endConferenceOnExit === 'true',
    });
  }

  /** The caller (or any leg) hangs up: it leaves its conference. */
  hangUp(callSid: string): void {
    const c = this.of(callSid);
    if (c) this.leave(c, callSid, 'hangup');
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
      this.leave(c, p.callSid, 'participant-removed-via-api');
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
      const events = eventsFromTwiml(multi.getAll('ConferenceStatusCallbackEvent').join(' '));
      c = this.create(
        confId,
        params.ConferenceStatusCallback ?? null,
        events,
        params.ConferenceRecord === 'record-from-start' || params.ConferenceRecord === 'true',
        params.ConferenceRecordingStatusCallback ?? null,
      );
    }
    if (params.Coaching === 'true' && !c.participants.has(params.CallSidToCoach ?? ''))
      return { status: 400, body: { code: 16028, message: 'CallSidToCoach is not a participant of this conference', status: 400 } };
    const p: PeerParticipant = {
      callSid: 'CA' + randomBytes(16).toString('hex'),
      label: params.Label ?? null,
      to: params.To,
      status: 'ringing',
      muted: params.Muted === 'true',
      hold: false,
      holdUrl: null,
      coaching: params.Coaching === 'true',
      callSidToCoach: params.Coaching === 'true' ? (params.CallSidToCoach ?? null) : null,
      startConferenceOnEnter: params.StartConferenceOnEnter !== 'false',
      endConferenceOnExit: params.EndConferenceOnExit === 'true',
    };
    const callEvents = multi.getAll('StatusCallbackEvent').flatMap((e) => e.split(/[\s,]+/));
    const statusCallback = params.StatusCallback ?? null;
    const conf = c;
    const legParams = (status: string) => ({
      AccountSid: this.accountSid,
      CallSid: p.callSid,
      CallStatus: status,
      From: params.From,
      To: params.To,
      Direction: 'outbound-api',
      ApiVersion: '2010-04-01',
      Timestamp: new Date().toUTCString(),
    });
    if (this.noAnswer.has(params.To) || this.declines.has(params.To)) {
      p.status = 'failed';
      const outcome = this.noAnswer.has(params.To) ? 'no-answer' : 'busy';
      if (statusCallback) {
        // Twilio reports an unanswered leg after it has rung, not at once.
        const ring: Promise<void> = new Promise((r) =>
          setTimeout(() => {
            this.send(statusCallback, legParams(outcome));
            this.ringing.delete(ring);
            r();
          }, this.ringMs),
        );
        this.ringing.add(ring);
      }
    } else {
      if (statusCallback && callEvents.includes('answered')) this.send(statusCallback, legParams('in-progress'));
      p.status = 'connected';
      this.join(conf, p);
      this.onParticipantAdded?.(conf, p);
    }
    return { status: 201, body: this.partJson(conf, { ...p, status: p.status === 'failed' ? 'ringing' : p.status }) };
  }

  private create(
    name: string,
    statusCallback: string | null,
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
      events: new Set(events),
      record,
      recordingStatusCallback,
      sequence: 0,
      startedAt: Date.now(),
    };
    this.all.set(c.sid, c);
    return c;
  }

  private join(c: PeerConference, p: PeerParticipant): void {
    c.participants.set(p.callSid, p);
    c.joined.push(p.callSid);
    if (c.status === 'init' && p.startConferenceOnEnter) {
      c.status = 'in-progress';
      c.startedAt = Date.now();
      this.event(c, 'conference-start', null);
    }
    this.event(c, 'participant-join', p);
  }

  private update(c: PeerConference, p: PeerParticipant, params: Record<string, string>): void {
    if (params.Hold !== undefined) {
      const hold = params.Hold === 'true';
      if (hold !== p.hold) {
        p.hold = hold;
        p.holdUrl = hold ? (params.HoldUrl ?? null) : null;
        this.event(c, hold ? 'participant-hold' : 'participant-unhold', p);
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
    this.event(c, 'participant-leave', p, { Reason: reason });
    if (p.endConferenceOnExit) this.end(c, callSid, 'participant-with-end-conference-on-exit-left');
    else if (c.participants.size === 0) this.end(c, null, 'last-participant-left');
  }

  private end(c: PeerConference, endingCallSid: string | null, reason: string): void {
    if (c.status === 'completed') return;
    for (const other of [...c.participants.values()]) {
      c.participants.delete(other.callSid);
      other.status = 'complete';
      this.event(c, 'participant-leave', other, { Reason: reason });
    }
    c.status = 'completed';
    this.event(c, 'conference-end', null, {
      ReasonConferenceEnded: reason,
      ...(endingCallSid ? { CallSidEndingConference: endingCallSid } : {}),
    });
    if (c.record && c.recordingStatusCallback) {
      const sid = 'RE' + randomBytes(16).toString('hex');
      this.send(c.recordingStatusCallback, {
        AccountSid: this.accountSid,
        ConferenceSid: c.sid,
        RecordingSid: sid,
        RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${this.accountSid}/Recordings/${sid}`,
        RecordingStatus: 'completed',
        RecordingDuration: String(Math.round((Date.now() - c.startedAt) / 1000)),
        RecordingChannels: '1',
        RecordingSource: 'Conference',
        RecordingStartTime: new Date(c.startedAt).toUTCString(),
      });
    }
  }

  private event(c: PeerConference, event: string, p: PeerParticipant | null, extra: Record<string, string> = {}): void {
    if (!c.statusCallback || !c.events.has(event)) return;
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ConferenceSid: c.sid,
      FriendlyName: c.friendlyName,
      StatusCallbackEvent: event,
      SequenceNumber: String(++c.sequence),
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
            ...(p.callSidToCoach ? { CallSidToCoach: p.callSidToCoach } : {}),
          }
        : {}),
      ...extra,
    };
    this.send(c.statusCallback, params);
  }

  /** Posts a callback as Twilio does: form-encoded, signed for its public URL; in order. */
  private send(url: string, params: Record<string, string>): void {
    const record: PeerCallback = { url, params, status: 0 };
    this.callbacks.push(record);
    this.chain = this.chain.then(async () => {
      const target =
        this.deliverTo && url.startsWith(this.deliverTo.publicUrl)
          ? this.deliverTo.gatewayUrl + url.slice(this.deliverTo.publicUrl.replace(/\/$/, '').length)
          : null;
      if (!target) return;
      try {
        const res = await fetch(target, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            'X-Twilio-Signature': twilio.getExpectedTwilioSignature(this.authToken, url, params),
            'User-Agent': 'TwilioProxy/1.1',
          },
          body: new URLSearchParams(params).toString(),
          signal: AbortSignal.timeout(5000),
        });
        record.status = res.status;
        await res.text();
      } catch {
        record.status = -1;
      }
    });
  }

  private confJson(c: PeerConference): Record<string, unknown> {
    return {
      sid: c.sid,
      account_sid: this.accountSid,
      friendly_name: c.friendlyName,
      status: c.status,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Conferences/${c.sid}.json`,
    };
  }

  private partJson(c: PeerConference, p: PeerParticipant): Record<string, unknown> {
    return {
      account_sid: this.accountSid,
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
      uri: `/2010-04-01/Accounts/${this.accountSid}/Conferences/${c.sid}/Participants/${p.callSid}.json`,
    };
  }
}

function page(key: string, items: unknown[]): Record<string, unknown> {
  return {
    [key]: items,
    first_page_uri: '',
    next_page_uri: null,
    previous_page_uri: null,
    page: 0,
    page_size: 100,
    start: 0,
    end: Math.max(0, items.length - 1),
    uri: '',
  };
}

function notFound(): Reply {
  return { status: 404, body: { code: 20404, message: 'The requested resource was not found', status: 404 } };
}

function eventsFromTwiml(attr: string | undefined): Set<string> {
  return new Set((attr ?? '').split(/\s+/).flatMap((e) => TWIML_EVENTS[e] ?? []));
}

function attrsOf(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of s.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) out[a[1]] = decode(a[2]);
  return out;
}

function decode(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
