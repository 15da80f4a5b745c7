import { CallDriver, PeerCall, TwilioPeer, randomSid, signTwilioRequest } from './twilio-peer';
import { XmlNode, parseXml } from './twiml-xml';

/**
 * Callers, for the demo and the browser tests: each rings the hotline through the gateway's real,
 * signed webhooks and answers what it hears as a person would (keys in the menus, waiting, hanging
 * up now and then). The call itself is the local TwilioPeer's (a Call resource there, its status
 * callbacks, conferences and `<Dial>` legs are the peer's); this class is the call's driver for the
 * verbs a caller answers: `<Gather>` (keys), `<Enqueue>` (waits, the wait URL asked again each time
 * its TwiML ends, as Twilio does), `<Record>`, `<Leave>`. Loopback only, and bounded in every loop.
 */
export interface CallerSimulatorOptions {
  /** Where the gateway listens (loopback). */
  gatewayUrl: string;
  /** The gateway's PUBLIC_URL: what Twilio signs, and the base of the URLs in its TwiML. */
  publicUrl: string;
  accountSid: string;
  authToken: string;
  peer: TwilioPeer;
  /** The hotline's number (To). */
  hotlineNumber?: string;
  /** Mean seconds between simulated calls when started (DEMO_CALL_EVERY_SECONDS). */
  callEverySeconds?: number;
  /** Seconds before the first call when started. */
  firstCallAfterSeconds?: number;
  /** Chance that a caller hangs up while waiting (0..1). */
  hangUpProbability?: number;
  /** How long an impatient caller waits before hanging up, in seconds. */
  patienceSeconds?: [number, number];
  /** How long a connected call lasts before the caller hangs up, in seconds. */
  talkSeconds?: [number, number];
  /** How often Twilio asks the wait URL again, in seconds. */
  waitPollSeconds?: number;
  /** Nobody waits longer than this; the caller hangs up. */
  maxWaitSeconds?: number;
  maxConcurrentCalls?: number;
  /** Chance of a withheld number (0..1). */
  withheldProbability?: number;
  /**
   * Share of generated callers who, when the wait music offers other ways (config/routing.yaml:
   * nobody signed in, or waited too long), take one: half ask for a callback, half leave a voice
   * message (keys for the default order keep_waiting, callback, voicemail), agreeing to each.
   */
  overflowProbability?: number;
  /** Callers' numbers: a small fixed pool of fictional numbers, so that callers return. */
  callerPool?: string[];
  log?: (line: string) => void;
}

export type SimCallState = 'ringing' | 'menu' | 'queued' | 'connected' | 'completed';

export interface SimCall {
  sid: string;
  /** Index in the caller pool (what the logs say instead of a number), or -1 when withheld. */
  caller: number;
  from: string;
  state: SimCallState;
  startedAt: number;
  queuedAt?: number;
  connectedAt?: number;
  endedAt?: number;
  /** The Client identity the gateway dialled. */
  dialled?: string;
  /** Keys pressed, in order. */
  pressed: string[];
}

export interface PlaceCallOptions {
  from?: string;
  /** Caller-ID location Twilio sends with every request of the call (FromCity, FromState, FromZip, FromCountry). */
  location?: Record<string, string>;
  /**
   * Keys pressed on the overflow choices, if the wait music offers them (then on the consent that
   * follows): e.g. ['2', '1'] asks for a callback and agrees. Without it the caller keeps listening.
   */
  overflowDigits?: string[];
  /** Keys for successive menus; '' is silence. Default: 1 (consent) or 2 (decline), then silence. */
  digits?: string[];
  /** Hang up after waiting this long (seconds); undefined: only if the random draw says so. */
  hangUpAfterSeconds?: number;
  /** Talk this long once connected (seconds); Infinity: until hangUp(). */
  talkSeconds?: number;
}

interface Plan {
  digits: string[];
  overflowDigits: string[];
  location: Record<string, string>;
  hangUpAfterSeconds?: number;
  talkSeconds: number;
}

interface Live {
  call: SimCall;
  plan: Plan;
  sequence: number;
  webhooks: number;
  timers: Set<NodeJS.Timeout>;
  enqueue?: { waitUrl: string; waitMethod: string; action?: string; actionMethod: string };
  polling: boolean;
}

const FICTIONAL_CALLERS = [
  '+447700900123',
  '+447700900456',
  '+447700900789',
  '+447700900321',
  '+15555550134',
  '+15555550178',
  '+15555550112',
  '+447700900654',
];
const MAX_WEBHOOKS_PER_CALL = 400;
const MAX_REMEMBERED_CALLS = 500;
/** Twilio waits 15 s for an answer, then fails the call. */
const REQUEST_TIMEOUT_MS = 15_000;
const QUEUE_SID = 'QU' + '0'.repeat(32);

export class CallerSimulator implements CallDriver {
  readonly calls = new Map<string, SimCall>();
  private readonly live = new Map<string, Live>();
  private readonly opts: Required<Omit<CallerSimulatorOptions, 'log'>> & Pick<CallerSimulatorOptions, 'log'>;
  private readonly public: URL;
  private generator?: NodeJS.Timeout;
  private stopped = false;
  private readonly waiters = new Set<() => void>();

  constructor(options: CallerSimulatorOptions) {
    this.opts = {
      hotlineNumber: '+15555550100',
      callEverySeconds: 20,
      firstCallAfterSeconds: 3,
      hangUpProbability: 0.2,
      patienceSeconds: [8, 45],
      talkSeconds: [90, 240],
      waitPollSeconds: 5,
      maxWaitSeconds: 600,
      maxConcurrentCalls: 6,
      withheldProbability: 0,
      overflowProbability: 0,
      callerPool: FICTIONAL_CALLERS,
      ...options,
    };
    if (!isLoopback(new URL(options.gatewayUrl).hostname))
      throw new Error('the caller simulator only talks to a gateway on this machine (gatewayUrl must be loopback)');
    this.public = new URL(options.publicUrl);
    // What the peer sends (callbacks, wait and hold music, Dial actions) reaches the gateway as Twilio's would.
    if (!options.peer.webhooks.deliverTo)
      options.peer.webhooks.deliverTo = { publicUrl: options.publicUrl, gatewayUrl: options.gatewayUrl };
  }

  /** Places calls at random intervals around `callEverySeconds` until stop(). */
  start(): void {
    const next = (seconds: number) => {
      this.generator = setTimeout(() => {
        if (this.stopped) return;
        const active = [...this.calls.values()].filter((c) => c.state !== 'completed').length;
        if (active < this.opts.maxConcurrentCalls) void this.placeCall().catch((e) => this.say(`a call failed to start: ${e.message}`));
        next(this.opts.callEverySeconds * (0.5 + Math.random()));
      }, seconds * 1000);
    };
    next(this.opts.firstCallAfterSeconds);
  }

  /** Stops placing calls and hangs up every call still going, as its caller would. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.generator);
    await Promise.all([...this.live.keys()].map((sid) => this.hangUp(sid).catch(() => undefined)));
  }

  /** One caller rings the hotline and walks the call flow until it waits in the queue (or it ends). */
  async placeCall(options: PlaceCallOptions = {}): Promise<SimCall> {
    const pool = this.opts.callerPool;
    const withheld = !options.from && Math.random() < this.opts.withheldProbability;
    // A person rings again only once their earlier call is over.
    const busy = new Set([...this.calls.values()].filter((c) => c.state !== 'completed').map((c) => c.from));
    const free = pool.map((_, i) => i).filter((i) => !busy.has(pool[i]));
    const pick = free.length ? free : pool.map((_, i) => i);
    const index = options.from ? pool.indexOf(options.from) : withheld ? -1 : pick[Math.floor(Math.random() * pick.length)];
    const from = options.from ?? (withheld ? 'anonymous' : pool[index]);
    const call: SimCall = { sid: randomSid('CA'), caller: index, from, state: 'ringing', startedAt: Date.now(), pressed: [] };
    const impatient = Math.random() < this.opts.hangUpProbability;
    const plan: Plan = {
      digits: options.digits ?? [Math.random() < 0.7 ? '1' : '2'],
      overflowDigits:
        options.overflowDigits ?? (Math.random() < this.opts.overflowProbability ? (Math.random() < 0.5 ? ['2', '1'] : ['3', '1']) : []),
      location: options.location ?? {},
      hangUpAfterSeconds: options.hangUpAfterSeconds ?? (impatient ? between(this.opts.patienceSeconds) : undefined),
      talkSeconds: options.talkSeconds ?? between(this.opts.talkSeconds),
    };
    this.calls.set(call.sid, call);
    if (this.calls.size > MAX_REMEMBERED_CALLS) {
      for (const [sid, c] of this.calls) if (c.state === 'completed' && this.calls.size > MAX_REMEMBERED_CALLS) this.calls.delete(sid);
    }
    this.live.set(call.sid, { call, plan, sequence: 0, webhooks: 0, timers: new Set(), polling: false });
    // The call is Twilio's (the peer's): its status callbacks go to the number's "call status changes" URL.
    this.opts.peer.registerCall(call.sid, from, this.opts.hotlineNumber, {
      statusCallback: new URL('/twilio/voice/status', this.public).toString(),
      location: plan.location,
    });
    this.opts.peer.drivers.set(call.sid, this);
    this.say(`${who(call)} rings the hotline`);
    const url = new URL('/twilio/voice/incoming', this.public).toString();
    const first = await this.webhook(call.sid, url, 'POST', { CallStatus: 'ringing' });
    if (first) await this.run(call.sid, first.twiml, url);
    return call;
  }

  /** The caller hangs up now, whatever the call is doing. */
  async hangUp(sid: string): Promise<void> {
    const l = this.live.get(sid);
    if (!l) return;
    if (l.call.state === 'queued' && l.enqueue?.action) {
      const queueTime = Math.round((Date.now() - (l.call.queuedAt ?? Date.now())) / 1000);
      await this.webhook(sid, l.enqueue.action, l.enqueue.actionMethod, {
        CallStatus: 'completed',
        QueueResult: 'hangup',
        QueueTime: String(queueTime),
      });
    }
    // The peer ends the call: out of its conference or dial, its `completed` to the gateway.
    this.opts.peer.hangUp(sid);
    await this.complete(sid);
  }

  /** Resolves when the call reaches the state (or rejects after the timeout). */
  waitFor(sid: string, state: SimCallState, timeoutMs = 15_000): Promise<SimCall> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const c = this.calls.get(sid);
        if (!c || (c.state !== state && c.state !== 'completed')) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (c.state === state) resolve(c);
        else reject(new Error(`call ${sid} ended before it was ${state}`));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`call ${sid} did not reach ${state} (it is ${this.calls.get(sid)?.state})`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private setState(l: Live, state: SimCallState): void {
    l.call.state = state;
    for (const w of [...this.waiters]) w();
  }

  // ---- CallDriver: the peer hands over a caller's verbs, and tells what happened to the call --------

  async resume(call: PeerCall, verbs: XmlNode[], documentUrl: string): Promise<void> {
    const l = this.live.get(call.sid);
    if (!l) return;
    return this.runVerbs(l, verbs, documentUrl);
  }

  /** The gateway gave the call new TwiML (the peer runs it): out of the queue. */
  interrupt(call: PeerCall): void {
    const l = this.live.get(call.sid);
    if (l) l.polling = false;
  }

  /** Into a conference, or the operator's leg answered the `<Dial>`. */
  bridged(call: PeerCall): void {
    const l = this.live.get(call.sid);
    if (!l || l.call.state === 'connected') return;
    l.polling = false;
    l.call.connectedAt = Date.now();
    l.call.dialled = call.documents.at(-1)?.twiml.match(/<Conference\b[^>]*>([^<]*)</)?.[1] ?? l.call.dialled;
    this.setState(l, 'connected');
    this.say(`${who(l.call)} is talking to an operator`);
    if (Number.isFinite(l.plan.talkSeconds)) this.later(l, l.plan.talkSeconds, () => void this.hangUp(l.call.sid));
  }

  ended(call: PeerCall): void {
    void this.complete(call.sid);
  }

  /** Runs a document's verbs; Twilio's own (`<Dial>`, `<Hangup>`, the end of the document) go back to the peer. */
  private async run(sid: string, twiml: string, documentUrl: string): Promise<void> {
    const l = this.live.get(sid);
    if (!l || l.call.state === 'completed') return;
    const peerCall = this.opts.peer.calls.get(sid);
    peerCall?.documents.push({ url: documentUrl, twiml });
    const root = parseXml(twiml);
    if (root.name !== 'Response') return this.fail(sid, 'the gateway answered something that is not TwiML');
    return this.runVerbs(l, root.children, documentUrl);
  }

  private async runVerbs(l: Live, verbs: XmlNode[], documentUrl: string): Promise<void> {
    const sid = l.call.sid;
    for (let i = 0; i < verbs.length; i++) {
      const verb = verbs[i];
      if (over(l.call)) return;
      switch (verb.name) {
        case 'Say':
        case 'Play':
        case 'Pause':
          continue;
        case 'Gather': {
          if (l.call.state === 'ringing') this.setState(l, 'menu');
          const digits = l.plan.digits.shift() ?? '';
          if (digits === '' && verb.attrs.actionOnEmptyResult !== 'true') continue;
          if (digits) l.call.pressed.push(digits);
          this.say(`${who(l.call)} ${digits ? `presses ${digits}` : 'says nothing'}`);
          const action = this.resolve(verb.attrs.action ?? documentUrl, documentUrl);
          const next = await this.webhook(sid, action, verb.attrs.method ?? 'POST', {
            CallStatus: 'in-progress',
            Digits: digits,
            FinishedOnKey: '',
          });
          if (next) await this.run(sid, next.twiml, action);
          return;
        }
        case 'Redirect': {
          const target = this.resolve(verb.text.trim() || documentUrl, documentUrl);
          const next = await this.webhook(sid, target, verb.attrs.method ?? 'POST', { CallStatus: 'in-progress' });
          if (next) await this.run(sid, next.twiml, target);
          return;
        }
        case 'Enqueue':
          l.enqueue = {
            waitUrl: this.resolve(verb.attrs.waitUrl ?? '', documentUrl),
            waitMethod: verb.attrs.waitUrlMethod ?? 'POST',
            action: verb.attrs.action ? this.resolve(verb.attrs.action, documentUrl) : undefined,
            actionMethod: verb.attrs.method ?? 'POST',
          };
          this.queued(l);
          return;
        case 'Leave':
          // Only meaningful in wait-URL TwiML: the caller leaves the queue and the Enqueue action decides.
          l.polling = false;
          if (l.enqueue?.action) {
            const next = await this.webhook(sid, l.enqueue.action, l.enqueue.actionMethod, {
              CallStatus: 'in-progress',
              QueueResult: 'leave',
              QueueSid: QUEUE_SID,
              QueueTime: String(Math.round((Date.now() - (l.call.queuedAt ?? Date.now())) / 1000)),
            });
            if (next) await this.run(sid, next.twiml, l.enqueue.action);
            return;
          }
          return this.peerHangsUp(sid);
        case 'Record':
          return this.record(l, verb, documentUrl);
        default: {
          // <Dial>, <Hangup>, <Reject>: Twilio's to carry out (the peer), from this verb on.
          const call = this.opts.peer.calls.get(sid);
          if (!call) return;
          return this.opts.peer.runVerbs(call, verbs.slice(i), documentUrl);
        }
      }
    }
    // Twilio hangs up at the end of a document, except while a caller waits in a queue.
    if (!l.polling) this.peerHangsUp(sid);
  }

  /** Twilio ends the call (the end of a document, a failed request): the peer sends its `completed`. */
  private peerHangsUp(sid: string): void {
    const call = this.opts.peer.calls.get(sid);
    if (call) this.opts.peer.complete(call, 'completed');
    else void this.complete(sid);
  }

  private queued(l: Live): void {
    const { call, plan } = l;
    if (call.state !== 'queued') {
      call.queuedAt = Date.now();
      this.setState(l, 'queued');
      this.say(`${who(call)} is waiting in the queue`);
    }
    if (plan.hangUpAfterSeconds !== undefined) {
      const s = plan.hangUpAfterSeconds;
      plan.hangUpAfterSeconds = undefined;
      this.later(l, s, () => {
        if (call.state !== 'queued') return;
        this.say(`${who(call)} hangs up after waiting ${Math.round((Date.now() - call.queuedAt!) / 1000)} s`);
        void this.hangUp(call.sid);
      });
    }
    this.later(l, this.opts.maxWaitSeconds, () => call.state === 'queued' && void this.hangUp(call.sid));
    if (!l.polling && l.enqueue?.waitUrl) {
      l.polling = true;
      void this.poll(l);
    }
  }

  /** Twilio asks the wait URL again each time its TwiML has played. */
  private async poll(l: Live): Promise<void> {
    const { call } = l;
    const enqueue = l.enqueue!;
    if (!l.polling || call.state !== 'queued') return void (l.polling = false);
    const queueTime = Math.round((Date.now() - (call.queuedAt ?? Date.now())) / 1000);
    const waiting = [...this.calls.values()].filter((c) => c.state === 'queued').length;
    const res = await this.webhook(call.sid, enqueue.waitUrl, enqueue.waitMethod, {
      CallStatus: 'in-progress',
      QueueSid: QUEUE_SID,
      QueuePosition: String(waiting),
      CurrentQueueSize: String(waiting),
      QueueTime: String(queueTime),
      AvgQueueTime: String(queueTime),
      MaxQueueSize: '100',
    });
    if (!res || !l.polling || call.state !== 'queued') return;
    const verbs = parseXml(res.twiml).children.map((v) => v.name);
    if (verbs.includes('Leave') || verbs.includes('Hangup') || verbs.includes('Redirect')) {
      l.polling = false;
      return this.run(call.sid, res.twiml, enqueue.waitUrl);
    }
    // The overflow choices, played inside the wait music: a caller with keys to press answers them.
    if (verbs.includes('Gather') && l.plan.overflowDigits.length) {
      await this.overflow(l, res.twiml, enqueue.waitUrl);
      if (!l.polling || call.state !== 'queued') return;
    }
    this.later(l, this.opts.waitPollSeconds, () => void this.poll(l));
  }

  /**
   * Answers Gathers in wait-URL TwiML (the overflow choices, then a consent) with the planned keys,
   * still in the queue; a `<Leave/>` takes the caller out to the Enqueue action (callback booked,
   * voice message recorded, backup line).
   */
  private async overflow(l: Live, twiml: string, documentUrl: string): Promise<void> {
    let doc = twiml;
    let url = documentUrl;
    for (;;) {
      const root = parseXml(doc);
      if (root.children.some((v) => v.name === 'Leave')) {
        l.polling = false;
        return this.run(l.call.sid, doc, url);
      }
      const gather = root.children.find((v) => v.name === 'Gather');
      const digits = gather ? l.plan.overflowDigits.shift() : undefined;
      if (!gather || !digits) return;
      l.call.pressed.push(digits);
      this.say(`${who(l.call)} presses ${digits} on the overflow menu`);
      url = this.resolve(gather.attrs.action ?? url, url);
      const next = await this.webhook(l.call.sid, url, gather.attrs.method ?? 'POST', { CallStatus: 'in-progress', Digits: digits });
      if (!next) return;
      doc = next.twiml;
    }
  }

  /** A `<Record>`: a few seconds of message, then the recording's callback and the action, as Twilio does. */
  private async record(l: Live, verb: XmlNode, documentUrl: string): Promise<void> {
    this.say(`${who(l.call)} leaves a voice message`);
    const recordingSid = randomSid('RE');
    const startedAt = new Date();
    if (verb.attrs.recordingStatusCallback) {
      const callback = this.resolve(verb.attrs.recordingStatusCallback, documentUrl);
      // Twilio reports the recording once processed, as a callback of its own (not in order with the action).
      this.opts.peer.later(100 + Math.floor(this.opts.peer.random() * 200), () =>
        this.opts.peer.webhooks.callback(callback, {
          AccountSid: this.opts.accountSid,
          CallSid: l.call.sid,
          RecordingSid: recordingSid,
          RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${this.opts.accountSid}/Recordings/${recordingSid}`,
          RecordingStatus: 'completed',
          RecordingDuration: '12',
          RecordingChannels: '1',
          RecordingSource: 'RecordVerb',
          RecordingStartTime: startedAt.toUTCString(),
        }),
      );
    }
    if (!verb.attrs.action) return;
    const action = this.resolve(verb.attrs.action, documentUrl);
    const next = await this.webhook(l.call.sid, action, verb.attrs.method ?? 'POST', {
      CallStatus: 'in-progress',
      RecordingSid: recordingSid,
      RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${this.opts.accountSid}/Recordings/${recordingSid}`,
      RecordingDuration: '12',
    });
    if (next) await this.run(l.call.sid, next.twiml, action);
  }

  /** The call is over (the peer ended it, and sent its `completed`): timers stop, waiters hear. */
  private async complete(sid: string): Promise<void> {
    const l = this.live.get(sid);
    if (!l || l.call.state === 'completed') return;
    const previous = l.call.state;
    l.polling = false;
    for (const t of l.timers) clearTimeout(t);
    l.timers.clear();
    l.call.endedAt = Date.now();
    this.setState(l, 'completed');
    this.live.delete(sid);
    this.say(`${who(l.call)}'s call ended (${previous === 'connected' ? 'after talking' : `while ${previous}`})`);
  }

  private async fail(sid: string, why: string): Promise<void> {
    this.say(`${who(this.calls.get(sid)!)}: ${why}; Twilio would hang up`);
    const call = this.opts.peer.calls.get(sid);
    if (call) this.opts.peer.complete(call, 'failed');
    await this.complete(sid);
  }

  /** A webhook Twilio would make, answered with TwiML; null (and the call hung up) when it fails. */
  private async webhook(sid: string, url: string, method: string, extra: Record<string, string>): Promise<{ twiml: string } | null> {
    const l = this.live.get(sid);
    if (!l) return null;
    const res = await this.post(l, url, method, extra);
    if (!res) return null;
    if (res.status !== 200) {
      await this.fail(sid, `${new URL(url).pathname} answered ${res.status}`);
      return null;
    }
    return { twiml: res.body };
  }

  private async post(
    l: Live,
    url: string,
    method: string,
    extra: Record<string, string>,
  ): Promise<{ status: number; body: string } | null> {
    if (++l.webhooks > MAX_WEBHOOKS_PER_CALL) {
      if (l.call.state !== 'completed') void this.complete(l.call.sid);
      return null;
    }
    const params: Record<string, string> = {
      AccountSid: this.opts.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: l.call.sid,
      Direction: 'inbound',
      From: l.call.from,
      Caller: l.call.from,
      To: this.opts.hotlineNumber,
      Called: this.opts.hotlineNumber,
      ...l.plan.location,
      ...extra,
    };
    const publicTarget = new URL(url);
    if (publicTarget.origin !== this.public.origin) {
      this.say(`${who(l.call)}: TwiML points away from the gateway (${publicTarget.origin}); not followed`);
      this.drop(l);
      return null;
    }
    const get = method.toUpperCase() === 'GET';
    if (get) for (const [k, v] of Object.entries(params)) publicTarget.searchParams.set(k, v);
    // Signed for the public address, as Twilio signs; sent to where the gateway listens.
    const signature = signTwilioRequest(this.opts.authToken, publicTarget.toString(), get ? {} : params);
    try {
      const res = await fetch(new URL(publicTarget.pathname + publicTarget.search, this.opts.gatewayUrl), {
        method: get ? 'GET' : 'POST',
        headers: {
          'X-Twilio-Signature': signature,
          ...(get ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
          'User-Agent': 'TwilioProxy/1.1',
        },
        body: get ? undefined : new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return { status: res.status, body: await res.text() };
    } catch (e) {
      if ((e as Error)?.name === 'TimeoutError')
        this.opts.peer.webhooks.failures.push({
          path: publicTarget.pathname,
          what: 'no answer within 15 s (Twilio gives up: application error)',
        });
      this.say(`${who(l.call)}: the gateway did not answer ${publicTarget.pathname} (${e?.cause?.code ?? e?.name})`);
      this.drop(l);
      return null;
    }
  }

  /** The line is dead (the gateway is unreachable): forget the call without telling anyone. */
  private drop(l: Live): void {
    if (l.call.state === 'completed') return;
    l.polling = false;
    for (const t of l.timers) clearTimeout(t);
    l.timers.clear();
    l.call.endedAt = Date.now();
    this.live.delete(l.call.sid);
    this.setState(l, 'completed');
  }

  private resolve(url: string, base: string): string {
    // A document from a call update has no URL of its own (its URLs are absolute).
    return (base ? new URL(url, base) : new URL(url)).toString();
  }

  private later(l: Live, seconds: number, fn: () => void): void {
    if (!Number.isFinite(seconds)) return;
    const t = setTimeout(() => {
      l.timers.delete(t);
      fn();
    }, seconds * 1000);
    l.timers.add(t);
  }

  private say(line: string): void {
    this.opts.log?.(line);
  }
}

/** Read through a function: the state changes while a webhook is awaited. */
function over(call: SimCall): boolean {
  return call.state === 'completed';
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '::1' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function between([min, max]: [number, number]): number {
  return min + Math.random() * (max - min);
}

/** Callers are named by their place in the fictional pool, never by number. */
function who(call: SimCall): string {
  return call.caller < 0 ? `a withheld caller (${call.sid.slice(0, 8)})` : `caller #${call.caller + 1} (${call.sid.slice(0, 8)})`;
}

export { parseXml } from './twiml-xml';
export type { XmlNode } from './twiml-xml';
