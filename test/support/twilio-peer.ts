import { randomBytes } from 'crypto';
import { AddressInfo } from 'net';
import { IncomingMessage, Server, ServerResponse, createServer } from 'http';
import twilio from 'twilio';
import { checkRestRequest, checkWebhookParams, inApi2010, recordRestCheck, recordWebhookCheck } from './twilio-contract';
import { PeerAccount } from './twilio-peer-account';
import { PeerConferences, page } from './twilio-peer-conferences';
import { PeerDevices, Ring } from './twilio-peer-devices';
import { PeerRealism, PeerWebhooks, realisticDefaults, seeded } from './twilio-peer-webhooks';
import { XmlNode, clientOf, parseClientAddress, parseXml } from './twiml-xml';

/**
 * A local Twilio for the tests and the demo: the part of Twilio's REST API Hotline uses, the calls
 * it places and bridges, and the callbacks it sends, behaving as Twilio behaves where it matters
 * (docs/twilio.md lists each behaviour and the page it was checked against). Tests point
 * TWILIO_API_URL at it; every REST request it receives is checked against Twilio's own OpenAPI
 * description (test/fixtures/twilio-oai) and every webhook it sends against the parameters
 * Twilio documents (test/fixtures/twilio-webhooks.json).
 *
 * Calls are resources with a status (queued, ringing, in-progress, then completed, busy, no-answer,
 * failed or canceled) whatever placed them: the calls a test rings in (`registerCall`), the legs a
 * `<Dial>` opens, the legs `participants.create` dials and the calls `calls.create` places. The peer
 * runs their TwiML where it is Twilio's to run (`<Dial>` with `<Conference>`, `<Client>` and
 * numbers, `<Redirect>`, `<Hangup>`, the end of a document, a `<Dial action>`); a caller's own
 * verbs (`<Gather>`, `<Enqueue>`, `<Record>`, `<Leave>`) go to the call's driver (the caller
 * simulator), or wait for the test to post the next webhook itself.
 *
 * What Twilio does that a gateway must survive, on by default (./twilio-peer-webhooks.ts):
 * callbacks concurrent, out of order and sometimes twice; a recording's callback after the call's
 * `completed`; `client:` legs that ring until a device answers (./twilio-peer-devices.ts);
 * 400/21220 for updating a call that has ended; 404 for a call it never had; 20009 for deleting a
 * call that is in progress or only just completed; 429 with `Retry-After` above the account's calls
 * per second; a webhook answered after 15 s fails its call and the test.
 */
export type CallStatus = 'queued' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';
const TERMINAL = new Set<CallStatus>(['completed', 'busy', 'no-answer', 'failed', 'canceled']);

export interface PeerCall {
  sid: string;
  from: string;
  to: string;
  direction: 'inbound' | 'outbound-api' | 'outbound-dial';
  parentCallSid: string | null;
  status: CallStatus;
  createdAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  statusCallbackEvents: Set<string>;
  /** The next SequenceNumber of its status callbacks. */
  sequence: number;
  /** Answering-machine detection asked for (`MachineDetection`), and what answered. */
  machineDetection: string | null;
  answeredBy: string | null;
  timeoutSeconds: number;
  /** Where to ask for TwiML once answered (calls.create `Url`). */
  url: string | null;
  urlMethod: 'GET' | 'POST';
  customParameters: Record<string, string>;
  /** Caller-ID location Twilio sends with every request of an inbound call (FromCity, FromState…). */
  location: Record<string, string>;
  /** TwiML documents run for this call, in order (what tests read). */
  documents: { url: string | null; twiml: string }[];
  /** Bumped each time its TwiML is replaced or it ends: what ran before stops. */
  generation: number;
  deleted: boolean;
  /** While ringing a device, and after it answered (then the device hears the end). */
  ring?: Ring;
  /** The leg an active `<Dial>` opened. */
  dialLeg?: string;
  /** The conference a REST-added leg was dialled into (its friendly name). */
  conference?: string;
  /** Resolved when a `<Dial><Conference>` this call is in ends for it. */
  onLeaveConference?: () => void;
  /** Resolved when the call ends (a `<Dial>` waiting on its leg). */
  onEnd: (() => void)[];
  /** A caller's verb the call waits at when no driver runs it (raw tests post the next webhook). */
  parked?: { verb: string; documentUrl: string };
}

/** What answers a number the peer rings (a callback, a directory transfer, the backup line). */
export interface Callee {
  answer: 'human' | 'machine' | 'no-answer' | 'busy' | 'failed';
  /** Ring time before answering, in real ms (scaled by realism.timeScale). */
  afterMs?: number;
  /** Hang up after answering, in real ms (scaled); undefined: stays until the other side ends. */
  talkMs?: number;
}

/** Runs a caller's own verbs (the caller simulator). */
export interface CallDriver {
  resume(call: PeerCall, verbs: XmlNode[], documentUrl: string): Promise<void>;
  /** The call's TwiML was replaced by the gateway: stop what it was doing (waiting in the queue). */
  interrupt(call: PeerCall): void;
  /** A `<Dial>` bridged the call (into a conference, or to the leg that answered). */
  bridged?(call: PeerCall): void;
  /** The call is over. */
  ended?(call: PeerCall): void;
}

/** What the conference model and others use of the peer. */
export interface PeerCore {
  readonly accountSid: string;
  readonly calls: Map<string, PeerCall>;
  readonly webhooks: PeerWebhooks;
  readonly realism: PeerRealism;
  random(): number;
  later(ms: number, fn: () => void): void;
  settled(): Promise<void>;
  complete(call: PeerCall, status: CallStatus, reason?: string): void;
  outbound(o: OutboundOptions): PeerCall;
  ringOut(call: PeerCall, forced?: 'no-answer' | 'busy'): Promise<boolean>;
  voiceParams(call: PeerCall): Record<string, string>;
}

interface OutboundOptions {
  from: string;
  to: string;
  parentCallSid?: string | null;
  direction?: PeerCall['direction'];
  statusCallback: string | null;
  statusCallbackMethod?: 'GET' | 'POST';
  statusCallbackEvents: string[];
  timeoutSeconds: number;
  url?: string | null;
  urlMethod?: 'GET' | 'POST';
  machineDetection?: string | null;
  customParameters?: Record<string, string>;
}

export interface PeerRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  at: number;
  status?: number;
}

export interface PeerMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  deleted: boolean;
  status: string;
}

/** Checks a REST request against Twilio's API description; problems make the peer answer 400. */
export type RestValidator = (method: string, path: string, form: URLSearchParams, query: URLSearchParams) => string[];

const running = new Map<string, TwilioPeer>();
/** Under jest the checks are also written to the run's record, which the last suite reports. */
const recording = () => process.env.HOTLINE_TWILIO_CONTRACT_RECORD === '1';

export class TwilioPeer implements PeerCore {
  readonly requests: PeerRequest[] = [];
  readonly callUpdates: { callSid: string; params: Record<string, string> }[] = [];
  readonly deletedRecordings: string[] = [];
  /** Call SIDs deleted (DELETE answered 204), in order. */
  readonly deletedCalls: string[] = [];
  /** Every call Twilio has had, deleted ones included (`deleted`), by SID. */
  readonly calls = new Map<string, PeerCall>();
  readonly messages: PeerMessage[] = [];
  /** Recording SIDs Twilio answers 404 for (already deleted). */
  readonly goneRecordings = new Set<string>();
  /** When set, every request fails with this status (Twilio down). */
  failAll?: number;
  /** Every REST request waits this long before it is handled and answered (Twilio's API slow); 0: at once. */
  restDelayMs = 0;
  /** Outbound calls placed (calls.create), in order, with the SID Twilio gave each. */
  readonly placedCalls: { sid: string; to: string; from: string; url: string; statusCallback: string; machineDetection?: string }[] = [];
  /** Numbers the peer rings, and how they answer (default: a person, after a short ring). */
  readonly callees = new Map<string, Callee>();
  /** Called on each call update (the demo names the legs it sees). */
  onCallUpdate?: (callSid: string, params: Record<string, string>) => void;
  /** Who runs each call's caller-side verbs. */
  readonly drivers = new Map<string, CallDriver>();
  /** REST requests refused because they are not in Twilio's API description (a test fails on any). */
  readonly contractProblems: { method: string; path: string; problems: string[] }[] = [];
  /** Checks REST requests against Twilio's API description (test/support/twilio-contract.ts). */
  validator: RestValidator = (method, path, form, query) => {
    if (!inApi2010(path)) return [];
    const check = checkRestRequest(method, path, form, query);
    if (recording()) recordRestCheck(check);
    return check.problems;
  };
  /** Webhooks the peer sent with a parameter Twilio does not document for them (a test fails on any). */
  readonly webhookProblems: string[] = [];
  readonly conferences: PeerConferences;
  readonly devices = new PeerDevices();
  readonly webhooks: PeerWebhooks;
  /** Phone numbers, TwiML apps and API keys (what `twilio:check` reads). */
  readonly account: PeerAccount;
  readonly realism: PeerRealism;
  readonly random: () => number;
  private readonly creates: number[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private server?: Server;

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
    realism: Partial<PeerRealism> = {},
  ) {
    this.realism = realisticDefaults(realism);
    this.random = seeded(this.realism.seed);
    this.webhooks = new PeerWebhooks(authToken, this.realism, this.random);
    // What the peer sends is what Twilio documents for that request (test/fixtures/twilio-webhooks.json).
    this.webhooks.check = (path, params) => {
      const problems = checkWebhookParams(path, params);
      if (recording()) recordWebhookCheck(path, problems);
      this.webhookProblems.push(...problems);
    };
    this.conferences = new PeerConferences(this);
    this.account = new PeerAccount(accountSid, authToken);
  }

  /** The peer a test or the harness started at this address (TWILIO_API_URL). */
  static at(url: string | undefined): TwilioPeer | undefined {
    return url ? running.get(url.replace(/\/$/, '')) : undefined;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res).catch(() => this.json(res, 500, { message: 'peer error' })));
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    running.set(this.url, this);
    return this;
  }

  /**
   * Stops the peer. Throws when the gateway answered one of Twilio's requests too late (15 s), sent a
   * request Twilio's API description refuses, or gave hold or wait TwiML Twilio refuses: a test that
   * met Twilio behaving as Twilio does, and did not survive it, fails.
   */
  async stop(): Promise<void> {
    if (!this.server) return;
    running.delete(this.url);
    for (const c of this.calls.values()) c.ring?.cancel();
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
    const late = this.webhooks.failures.filter((f) => f.what.startsWith('no answer'));
    const problems = [
      ...late.map((f) => `${f.path}: ${f.what}`),
      ...this.contractProblems.map((p) => `${p.method} ${p.path}: ${p.problems.join('; ')}`),
      ...this.webhookProblems,
      ...this.conferences.musicProblems,
    ];
    if (problems.length)
      throw new Error(`the Twilio peer (seed ${this.realism.seed}) saw what Twilio would refuse:\n  ${problems.slice(0, 20).join('\n  ')}`);
  }

  /**
   * Everything in flight: callbacks, TwiML fetches, scheduled steps. Not a leg still ringing (it may
   * ring until its timeout) nor a call's bridged `<Dial>` (it lasts as long as the call).
   */
  async settled(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await this.webhooks.settled();
      if (!this.pending.size) {
        await new Promise((r) => setTimeout(r, 5));
        if (!this.pending.size) {
          await this.webhooks.settled();
          return;
        }
      }
      await Promise.race([Promise.all([...this.pending]), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  later(ms: number, fn: () => void): void {
    const p = new Promise<void>((r) =>
      setTimeout(() => {
        try {
          fn();
        } finally {
          r();
        }
      }, ms),
    );
    this.track(p);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  // ---- calls -------------------------------------------------------------------------------------

  /**
   * A call to the hotline that the test rings in itself (posting the webhooks): in progress, from
   * `from`; its status callbacks go to `statusCallback` (the number's "call status changes" URL).
   */
  registerCall(sid: string, from: string, to: string, opts: { statusCallback?: string; location?: Record<string, string> } = {}): PeerCall {
    const existing = this.calls.get(sid);
    if (existing) return existing;
    const call = this.newCall(sid, {
      from,
      to,
      direction: 'inbound',
      statusCallback: opts.statusCallback ?? null,
      statusCallbackEvents: ['completed'],
      timeoutSeconds: 60,
    });
    call.status = 'in-progress';
    call.answeredAt = Date.now();
    call.location = opts.location ?? {};
    return call;
  }

  /** The legs a `<Dial>` opened for this call (child calls). */
  legsOf(parentCallSid: string): string[] {
    return [...this.calls.values()].filter((c) => c.parentCallSid === parentCallSid).map((c) => c.sid);
  }

  /** Calls Twilio still holds (not deleted) that carry `number` as their From or To. */
  callsWith(number: string): PeerCall[] {
    return [...this.calls.values()].filter((c) => !c.deleted && (c.from === number || c.to === number));
  }

  /** The messages sent to one number, newest last. */
  messagesTo(to: string): PeerMessage[] {
    return this.messages.filter((m) => m.to === to);
  }

  /** The caller hangs up (or any call ends from its far side): as Twilio, with its callbacks. */
  hangUp(sid: string): void {
    const call = this.calls.get(sid);
    if (call) this.complete(call, 'completed');
  }

  /** The call ended at Twilio without the gateway being told by this peer (a test posts the callback itself). */
  endQuietly(sid: string): void {
    const call = this.calls.get(sid);
    if (!call || TERMINAL.has(call.status)) return;
    call.statusCallback = null;
    this.complete(call, 'completed');
  }

  voiceParams(call: PeerCall): Record<string, string> {
    return {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: call.status,
      Direction: call.direction,
      From: call.from,
      To: call.to.split('?')[0],
      Caller: call.from,
      Called: call.to.split('?')[0],
      ...(call.parentCallSid ? { ParentCallSid: call.parentCallSid } : {}),
      ...call.location,
    };
  }

  outbound(o: OutboundOptions): PeerCall {
    return this.newCall(randomSid('CA'), o);
  }

  private newCall(sid: string, o: OutboundOptions): PeerCall {
    const address = parseClientAddress(o.to);
    const call: PeerCall = {
      sid,
      from: o.from,
      to: o.to,
      direction: o.direction ?? 'outbound-api',
      parentCallSid: o.parentCallSid ?? null,
      status: 'queued',
      createdAt: Date.now(),
      answeredAt: null,
      endedAt: null,
      statusCallback: o.statusCallback,
      statusCallbackMethod: o.statusCallbackMethod ?? 'POST',
      statusCallbackEvents: new Set(o.statusCallbackEvents.length ? o.statusCallbackEvents : ['completed']),
      sequence: 0,
      machineDetection: o.machineDetection ?? null,
      answeredBy: null,
      timeoutSeconds: o.timeoutSeconds,
      url: o.url ?? null,
      urlMethod: o.urlMethod ?? 'POST',
      customParameters: { ...(address?.parameters ?? {}), ...(o.customParameters ?? {}) },
      location: {},
      documents: [],
      generation: 0,
      deleted: false,
      onEnd: [],
    };
    this.calls.set(sid, call);
    return call;
  }

  /** A call progress event to the call's StatusCallback, if it asked for that event. */
  private progress(call: PeerCall, event: 'initiated' | 'ringing' | 'answered' | 'completed'): void {
    const seq = call.sequence++;
    if (!call.statusCallback || !call.statusCallbackEvents.has(event)) return;
    const duration = call.answeredAt && call.endedAt ? Math.round((call.endedAt - call.answeredAt) / 1000) : 0;
    this.webhooks.callback(
      call.statusCallback,
      {
        ...this.voiceParams(call),
        CallbackSource: 'call-progress-events',
        SequenceNumber: String(seq),
        Timestamp: new Date().toUTCString(),
        ...(event === 'completed' ? { CallDuration: String(duration) } : {}),
      },
      call.statusCallbackMethod,
    );
  }

  /** Rings the call's `To`: a browser's devices, or a number's callee. True once answered. */
  ringOut(call: PeerCall, forced?: 'no-answer' | 'busy'): Promise<boolean> {
    // Not tracked by settled(): a leg may ring until its timeout (what follows an answer is tracked).
    return this.ringOutNow(call, forced);
  }

  private async ringOutNow(call: PeerCall, forced?: 'no-answer' | 'busy'): Promise<boolean> {
    const scale = this.realism.timeScale;
    this.progress(call, 'initiated');
    call.status = 'ringing';
    this.progress(call, 'ringing');
    const address = parseClientAddress(call.to);
    let outcome: 'answered' | 'rejected' | 'no-answer' | 'canceled' | 'busy' | 'failed';
    let answeredBy: string | null = null;
    if (forced) {
      await sleep(forced === 'busy' ? 50 : Math.max(20, call.timeoutSeconds * 1000 * scale));
      outcome = forced;
    } else if (address) {
      const ring = this.devices.ring(call.sid, address.identity, call.from, call.customParameters, call.timeoutSeconds * 1000 * scale);
      call.ring = ring;
      ring.onDeviceHangUp = () => this.complete(call, 'completed');
      outcome = await ring.outcome;
    } else {
      const callee = this.callees.get(call.to) ?? { answer: 'human' as const };
      const ringMs = Math.max(5, (callee.afterMs ?? 2000) * scale);
      if (callee.answer === 'no-answer') {
        await sleep(Math.max(20, call.timeoutSeconds * 1000 * scale));
        outcome = 'no-answer';
      } else {
        await sleep(ringMs);
        outcome = callee.answer === 'human' || callee.answer === 'machine' ? 'answered' : callee.answer;
        if (callee.answer === 'machine') answeredBy = 'machine_start';
        else if (callee.answer === 'human') answeredBy = 'human';
        if (outcome === 'answered' && callee.talkMs !== undefined)
          this.later(callee.talkMs * scale, () => this.complete(call, 'completed'));
      }
    }
    if (TERMINAL.has(call.status)) return false;
    if (outcome !== 'answered') {
      this.complete(call, outcome === 'rejected' ? 'busy' : outcome === 'canceled' ? 'canceled' : outcome);
      return false;
    }
    call.status = 'in-progress';
    call.answeredAt = Date.now();
    if (call.machineDetection) call.answeredBy = answeredBy ?? 'human';
    this.progress(call, 'answered');
    // With answering-machine detection, Twilio asks the Url once it knows who answered, and says so.
    if (call.url) void this.fetchAndRun(call, call.url, call.urlMethod, call.answeredBy ? { AnsweredBy: call.answeredBy } : {});
    return true;
  }

  /** The call is over: it leaves what it was in, its leg ends, its callbacks go. */
  complete(call: PeerCall, status: CallStatus, reason = 'hangup'): void {
    if (TERMINAL.has(call.status)) return;
    const never = call.status === 'queued' || call.status === 'ringing';
    call.status = never && status === 'completed' ? 'canceled' : status;
    call.endedAt = Date.now();
    call.generation++;
    call.parked = undefined;
    if (never) call.ring?.cancel();
    else call.ring?.ended();
    const driver = this.drivers.get(call.sid);
    this.drivers.delete(call.sid);
    driver?.interrupt(call);
    this.conferences.callLeft(call.sid, reason);
    if (call.dialLeg) {
      const leg = this.calls.get(call.dialLeg);
      if (leg) this.complete(leg, 'completed');
    }
    for (const fn of call.onEnd.splice(0)) fn();
    this.progress(call, 'completed');
    driver?.ended?.(call);
  }

  // ---- TwiML -------------------------------------------------------------------------------------

  private async fetchAndRun(call: PeerCall, url: string, method: 'GET' | 'POST', extra: Record<string, string>): Promise<void> {
    const gen = call.generation;
    const twiml = await this.webhooks.fetchTwiml(url, { ...this.voiceParams(call), ...extra }, method);
    if (call.generation !== gen || TERMINAL.has(call.status)) return;
    if (twiml === null) return this.complete(call, 'failed');
    await this.run(call, twiml, url);
  }

  /** Runs a TwiML document for a call (from the gateway's answer to a request, or a call update). */
  async run(call: PeerCall, twiml: string, documentUrl: string | null): Promise<void> {
    call.documents.push({ url: documentUrl, twiml });
    const doc = parseXml(twiml);
    if (doc.name !== 'Response') return this.complete(call, 'failed');
    return this.runVerbs(call, doc.children, documentUrl ?? '', call.generation);
  }

  /** Runs verbs until the call leaves Twilio's hands (a caller's verb), is replaced, or ends. */
  async runVerbs(call: PeerCall, verbs: XmlNode[], documentUrl: string, gen = call.generation): Promise<void> {
    for (let i = 0; i < verbs.length; i++) {
      if (call.generation !== gen || TERMINAL.has(call.status)) return;
      const verb = verbs[i];
      switch (verb.name) {
        case 'Say':
        case 'Play':
        case 'Pause':
          continue;
        case 'Hangup':
        case 'Reject':
          return this.complete(call, 'completed');
        case 'Redirect': {
          const target = resolveUrl(verb.text.trim() || documentUrl, documentUrl);
          return this.fetchAndRun(call, target, (verb.attrs.method as 'GET' | 'POST') ?? 'POST', {});
        }
        case 'Dial': {
          const r = await this.dial(call, verb, documentUrl, gen);
          if (call.generation !== gen || TERMINAL.has(call.status)) return;
          if (verb.attrs.action) {
            const action = resolveUrl(verb.attrs.action, documentUrl);
            return this.fetchAndRun(call, action, (verb.attrs.method as 'GET' | 'POST') ?? 'POST', {
              DialCallStatus: r.status,
              ...(r.legSid ? { DialCallSid: r.legSid } : {}),
              DialCallDuration: String(r.duration),
            });
          }
          continue;
        }
        default: {
          // The caller's own verbs: the driver answers them, or the test posts the next webhook itself.
          const driver = this.drivers.get(call.sid);
          if (driver) return driver.resume(call, verbs.slice(i), documentUrl);
          call.parked = { verb: verb.name, documentUrl };
          return;
        }
      }
    }
    // Twilio hangs up at the end of a document.
    if (call.generation === gen) this.complete(call, 'completed');
  }

  /** A `<Dial>`: into a conference, or a new leg to a browser or a number, bridged until one side ends. */
  private async dial(
    call: PeerCall,
    dial: XmlNode,
    documentUrl: string,
    gen: number,
  ): Promise<{ status: string; legSid: string | null; duration: number }> {
    const conference = dial.children.find((c) => c.name === 'Conference');
    const started = Date.now();
    if (conference) {
      const left = this.conferences.joinByTwiml(call, conference.attrs, conference.text.trim());
      this.drivers.get(call.sid)?.bridged?.(call);
      await left;
      return { status: 'completed', legSid: null, duration: Math.round((Date.now() - started) / 1000) };
    }
    const clientNode = dial.children.find((c) => c.name === 'Client');
    const numberNode = dial.children.find((c) => c.name === 'Number');
    const target = clientNode
      ? (() => {
          const c = clientOf(clientNode);
          return { to: `client:${c.identity}`, params: c.parameters, node: clientNode };
        })()
      : { to: (numberNode?.text ?? dial.text).trim(), params: {}, node: numberNode ?? null };
    const attrs = target.node?.attrs ?? {};
    const leg = this.outbound({
      from: dial.attrs.callerId ?? call.from,
      to: target.to,
      parentCallSid: call.sid,
      direction: 'outbound-dial',
      statusCallback: attrs.statusCallback ? resolveUrl(attrs.statusCallback, documentUrl) : null,
      statusCallbackMethod: (attrs.statusCallbackMethod as 'GET' | 'POST') ?? 'POST',
      statusCallbackEvents: (attrs.statusCallbackEvent ?? '').split(/[\s,]+/).filter(Boolean),
      timeoutSeconds: Number(dial.attrs.timeout ?? 30),
      customParameters: target.params,
    });
    call.dialLeg = leg.sid;
    const forced = this.conferences.noAnswer.has(target.to)
      ? ('no-answer' as const)
      : this.conferences.declines.has(target.to)
        ? ('busy' as const)
        : undefined;
    const answered = await this.ringOut(leg, forced);
    if (call.generation !== gen || TERMINAL.has(call.status)) {
      call.dialLeg = undefined;
      return { status: 'canceled', legSid: leg.sid, duration: 0 };
    }
    if (!answered) {
      call.dialLeg = undefined;
      return { status: leg.status === 'canceled' ? 'canceled' : leg.status, legSid: leg.sid, duration: 0 };
    }
    const bridged = Date.now();
    this.drivers.get(call.sid)?.bridged?.(call);
    // Bridged until either side hangs up.
    await new Promise<void>((resolve) => {
      if (TERMINAL.has(leg.status)) return resolve();
      leg.onEnd.push(resolve);
      call.onEnd.push(resolve);
    });
    call.dialLeg = undefined;
    if (!TERMINAL.has(leg.status)) this.complete(leg, 'completed');
    const duration = Math.round((Date.now() - bridged) / 1000);
    const record = dial.attrs.record && dial.attrs.record !== 'do-not-record';
    if (record && dial.attrs.recordingStatusCallback) {
      const sid = randomSid('RE');
      const url = resolveUrl(dial.attrs.recordingStatusCallback, documentUrl);
      // Processed after the call: the recording's callback comes after its calls' `completed`.
      this.later(200 + Math.floor(this.random() * 300), () =>
        this.webhooks.callback(
          url,
          {
            AccountSid: this.accountSid,
            CallSid: call.sid,
            RecordingSid: sid,
            RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${this.accountSid}/Recordings/${sid}`,
            RecordingStatus: 'completed',
            RecordingDuration: String(duration),
            RecordingChannels: '2',
            RecordingSource: 'DialVerb',
            RecordingStartTime: new Date(bridged).toUTCString(),
          },
          (dial.attrs.recordingStatusCallbackMethod as 'GET' | 'POST') ?? 'POST',
        ),
      );
    }
    return { status: 'completed', legSid: leg.sid, duration };
  }

  // ---- REST --------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer');
    if (this.devices.handleHttp(req, res, url)) return;
    const body = await readBody(req);
    const form = new URLSearchParams(body);
    const params = Object.fromEntries(form);
    const record: PeerRequest = { method: req.method ?? 'GET', path: url.pathname, params, at: Date.now() };
    this.requests.push(record);
    if (this.restDelayMs) await sleep(this.restDelayMs);
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
      if (status === 204) {
        res.statusCode = 204;
        return void res.end();
      }
      this.json(res, status, json);
    };
    const expected = 'Basic ' + Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64');
    if (req.headers.authorization !== expected && !this.account.authenticates(req.headers.authorization))
      return reply(401, { code: 20003, message: 'Authenticate', status: 401 });
    if (this.failAll) return reply(this.failAll, { code: 20500, message: 'Internal Server Error', status: this.failAll });
    const problems = this.validator?.(record.method, url.pathname, form, url.searchParams) ?? [];
    if (problems.length) {
      this.contractProblems.push({ method: record.method, path: url.pathname, problems });
      return reply(400, { code: 20001, message: `not in Twilio's API description: ${problems.join('; ')}`, status: 400 });
    }
    const acct = this.account.rest(record.method, url.pathname, params, url.searchParams);
    if (acct) return reply(acct.status, acct.body);
    const creates =
      record.method === 'POST' && /\/(Calls|Participants)\.json$/.test(url.pathname) && !/\/Participants\/[^/]+\.json$/.test(url.pathname);
    if (creates && this.overCps()) return reply(429, { code: 20429, message: 'Too Many Requests', status: 429 }, { 'Retry-After': '1' });
    const conf = url.pathname.match(
      /^\/2010-04-01\/Accounts\/(AC\w+)\/Conferences(?:\/([^/]+?))?(?:\/(Participants)(?:\/([^/]+?))?)?\.json$/,
    );
    if (conf && conf[1] === this.accountSid) {
      const r = this.conferences.rest(
        record.method,
        conf[2] ? decodeURIComponent(conf[2]) : null,
        !!conf[3],
        conf[4] ? decodeURIComponent(conf[4]) : null,
        params,
        form,
        url.searchParams,
      );
      return reply(r.status, r.body);
    }
    const m = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC\w+)\/(\w+)(?:\/(\w+))?\.json$/);
    if (!m || m[1] !== this.accountSid) return reply(404, { code: 20404, message: 'not found', status: 404 });
    const [, , resource, sid] = m;
    const call = sid ? this.calls.get(sid) : undefined;
    const gone = !call || call.deleted;
    if (resource === 'Calls' && sid && record.method === 'POST') {
      if (gone) return reply(404, { code: 20404, message: `The requested resource ${url.pathname} was not found`, status: 404 });
      if (TERMINAL.has(call.status)) return reply(400, { code: 21220, message: 'Call is not in-progress. Cannot redirect.', status: 400 });
      this.callUpdates.push({ callSid: sid, params });
      if (params.Status === 'completed' || params.Status === 'canceled')
        this.complete(call, params.Status === 'canceled' ? 'canceled' : 'completed');
      else if (params.Twiml || params.Url) this.redirect(call, params);
      setImmediate(() => this.onCallUpdate?.(sid, params));
      return reply(200, this.callJson(call));
    }
    if (resource === 'Calls' && sid && record.method === 'GET') {
      if (gone) return reply(404, { code: 20404, message: 'not found', status: 404 });
      return reply(200, this.callJson(call));
    }
    if (resource === 'Calls' && !sid && record.method === 'POST') {
      const placed = this.outbound({
        from: params.From,
        to: params.To,
        statusCallback: params.StatusCallback ?? null,
        statusCallbackMethod: (params.StatusCallbackMethod as 'GET' | 'POST') ?? 'POST',
        statusCallbackEvents: form.getAll('StatusCallbackEvent').flatMap((e) => e.split(/[\s,]+/)),
        timeoutSeconds: Number(params.Timeout ?? 60),
        url: params.Url ?? null,
        urlMethod: (params.Method as 'GET' | 'POST') ?? 'POST',
        machineDetection: params.MachineDetection ?? null,
      });
      this.placedCalls.push({
        sid: placed.sid,
        to: placed.to,
        from: placed.from,
        url: params.Url,
        statusCallback: params.StatusCallback,
        ...(params.MachineDetection ? { machineDetection: params.MachineDetection } : {}),
      });
      void this.ringOut(placed);
      return reply(201, this.callJson(placed));
    }
    if (resource === 'Calls' && !sid && record.method === 'GET') {
      const parent = url.searchParams.get('ParentCallSid');
      const list = [...this.calls.values()].filter((c) => !c.deleted && (!parent || c.parentCallSid === parent));
      return reply(
        200,
        page(
          'calls',
          list.map((c) => this.callJson(c)),
          url.pathname,
        ),
      );
    }
    if (resource === 'Calls' && sid && record.method === 'DELETE') {
      if (gone) return reply(404, { code: 20404, message: 'not found', status: 404 });
      const justEnded = call.endedAt !== null && Date.now() - call.endedAt < this.realism.deleteRefusalMs;
      if (!TERMINAL.has(call.status) || justEnded)
        return reply(409, { code: 20009, message: 'Cannot delete this resource before it is complete', status: 409 });
      call.deleted = true;
      this.deletedCalls.push(sid);
      return reply(204, null);
    }
    if (resource === 'Recordings' && sid && record.method === 'DELETE') {
      if (this.goneRecordings.has(sid)) return reply(404, { code: 20404, message: 'not found', status: 404 });
      this.deletedRecordings.push(sid);
      this.goneRecordings.add(sid);
      return reply(204, null);
    }
    if (resource === 'Messages' && !sid && record.method === 'POST') {
      const msg: PeerMessage = {
        sid: 'SM' + randomBytes(16).toString('hex'),
        to: params.To,
        from: params.From,
        body: params.Body,
        deleted: false,
        status: 'queued',
      };
      this.messages.push(msg);
      if (params.StatusCallback) this.smsProgress(msg, params.StatusCallback);
      return reply(201, { sid: msg.sid, account_sid: this.accountSid, to: msg.to, from: msg.from, body: msg.body, status: 'queued' });
    }
    if (resource === 'Messages' && sid && record.method === 'DELETE') {
      const msg = this.messages.find((x) => x.sid === sid && !x.deleted);
      if (!msg) return reply(404, { code: 20404, message: 'not found', status: 404 });
      msg.deleted = true;
      return reply(204, null);
    }
    return reply(404, { code: 20404, message: 'not found', status: 404 });
  }

  /** A message goes sent, then delivered: each reported to its StatusCallback (concurrently, like every callback). */
  private smsProgress(msg: PeerMessage, statusCallback: string): void {
    for (const [status, after] of [
      ['sent', 50],
      ['delivered', 150],
    ] as const)
      this.later(after * this.realism.timeScale * 20, () => {
        if (msg.deleted) return;
        msg.status = status;
        this.webhooks.callback(statusCallback, {
          AccountSid: this.accountSid,
          ApiVersion: '2010-04-01',
          MessageSid: msg.sid,
          SmsSid: msg.sid,
          MessageStatus: status,
          SmsStatus: status,
          From: msg.from,
          To: msg.to,
        });
      });
  }

  /** The gateway gave a live call new TwiML: it leaves what it was doing (queue, conference, dial) and runs it. */
  private redirect(call: PeerCall, params: Record<string, string>): void {
    call.generation++;
    call.parked = undefined;
    this.drivers.get(call.sid)?.interrupt(call);
    this.conferences.callLeft(call.sid, 'participant-updated-via-api');
    if (call.dialLeg) {
      const leg = this.calls.get(call.dialLeg);
      call.dialLeg = undefined;
      if (leg) this.complete(leg, 'completed');
    }
    // Not tracked by settled(): a document with a <Dial> runs as long as the call is bridged.
    if (params.Twiml) void this.run(call, params.Twiml, null);
    else void this.fetchAndRun(call, params.Url, (params.Method as 'GET' | 'POST') ?? 'POST', {});
  }

  private overCps(): boolean {
    const now = Date.now();
    while (this.creates.length && now - this.creates[0] >= 1000) this.creates.shift();
    if (this.creates.length >= this.realism.cps) return true;
    this.creates.push(now);
    return false;
  }

  private callJson(c: PeerCall): Record<string, unknown> {
    return {
      sid: c.sid,
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      from: c.from,
      to: c.to.split('?')[0],
      direction: c.direction,
      parent_call_sid: c.parentCallSid,
      status: c.status,
      answered_by: c.answeredBy,
      start_time: c.answeredAt ? new Date(c.answeredAt).toUTCString() : null,
      end_time: c.endedAt ? new Date(c.endedAt).toUTCString() : null,
      duration: c.answeredAt && c.endedAt ? String(Math.round((c.endedAt - c.answeredAt) / 1000)) : null,
      date_created: new Date(c.createdAt).toUTCString(),
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${c.sid}.json`,
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A TwiML URL, relative to the document's (a document from a call update has none: its URLs are absolute). */
function resolveUrl(url: string, base: string): string {
  return base ? new URL(url, base).toString() : new URL(url).toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A webhook POST signed exactly as Twilio signs it (twilio's own helper computes the signature). */
export function signTwilioRequest(authToken: string, fullUrl: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, fullUrl, params);
}

export function randomSid(prefix: 'CA' | 'RE' | 'SM'): string {
  return prefix + randomBytes(16).toString('hex');
}
