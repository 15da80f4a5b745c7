import { randomUUID } from 'crypto';
import { INestApplication } from '@nestjs/common';
import { Agent, request } from 'http';
import { AddressInfo } from 'net';
import { io, Socket } from 'socket.io-client';
import { TokenService } from '@hotline/auth';
import type { Env } from '@hotline/config';
import { ExpectedLegs, VOICE_LEG_GRACE_MS, type ConsoleNamespace, type Role, type VoiceLegAnnouncement } from '@hotline/contract';
import { checkWebhookParams, recordWebhookCheck } from './twilio-contract';
import { TwilioPeer, randomSid, signTwilioRequest } from './twilio-peer';

/** The base URL an app under test listens on (after `app.listen(0, '127.0.0.1')`). */
export function baseUrlOf(app: INestApplication): string {
  const a = app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${a.port}`;
}

export interface WebhookReply {
  status: number;
  text: string;
}

/**
 * Posts webhooks to a gateway as Twilio does: form-encoded, signed for PUBLIC_URL + path (query
 * included). `signature: null` leaves the header out; a string sends that (forged) one.
 */
export class TwilioWebhooks {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  /** The Twilio peer of the gateway under test: the calls a test rings in are its calls too. */
  peer?: TwilioPeer;

  constructor(
    readonly baseUrl: string,
    readonly publicUrl: string,
    readonly authToken: string,
  ) {}

  static for(app: INestApplication, env: Env): TwilioWebhooks {
    return new TwilioWebhooks(baseUrlOf(app), env.PUBLIC_URL, env.TWILIO_AUTH_TOKEN!);
  }

  /**
   * `pathOrUrl`: a path, or an absolute URL from our own TwiML (PUBLIC_URL + path). A request signed as
   * Twilio signs it must also carry only what Twilio documents for that route
   * (test/fixtures/twilio-webhooks.json), or the test is wrong about Twilio: it throws. Tests that send
   * what Twilio never would, on purpose (forged, fuzzed), say `unchecked` or pass a signature.
   */
  async post(
    pathOrUrl: string,
    params: Record<string, string>,
    opts: { signature?: string | null; unchecked?: boolean } = {},
  ): Promise<WebhookReply> {
    const path = pathOrUrl.startsWith(this.publicUrl) ? pathOrUrl.slice(this.publicUrl.replace(/\/$/, '').length) : pathOrUrl;
    if (opts.signature === undefined && !opts.unchecked) {
      const problems = checkWebhookParams(path, params);
      recordWebhookCheck(path, problems);
      if (problems.length) throw new Error(`this test posts what Twilio would not send: ${problems.join('; ')}`);
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const signature =
      opts.signature === undefined ? signTwilioRequest(this.authToken, this.publicUrl.replace(/\/$/, '') + path, params) : opts.signature;
    if (signature !== null) headers['x-twilio-signature'] = signature;
    const body = new URLSearchParams(params).toString();
    headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = request(this.baseUrl + path, { method: 'POST', headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept-alive connections (so an app under test can close at once). */
  close(): void {
    this.agent.destroy();
  }
}

/** An attribute of the first element of that name in a TwiML reply (entities decoded). */
export function twimlAttr(twiml: string, element: string, attr: string): string | null {
  const m = twiml.match(new RegExp(`<${element}\\b[^>]*\\b${attr}="([^"]*)"`));
  return m ? decodeXml(m[1]) : null;
}

/** The text content of the first element of that name. */
export function twimlText(twiml: string, element: string): string | null {
  const m = twiml.match(new RegExp(`<${element}\\b[^>]*>([^<]*)</${element}>`));
  return m ? decodeXml(m[1]) : null;
}

function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export interface SimulatedCall {
  callSid: string;
  from: string;
  callId: string;
  /** The wait URL Twilio would loop on while the caller waits. */
  waitUrl: string;
  /** The TwiML of the consent step (with the `<Enqueue>`). */
  enqueueTwiml: string;
}

/** A random caller number in a test range (never a real subscriber). */
export function testNumber(): string {
  return '+1555' + String(Math.floor(Math.random() * 1e7)).padStart(7, '0');
}

/**
 * Walks a call through the flow as Twilio would: incoming, then the menu answer. `digits`: '1'
 * consents, '2' declines, '' is silence.
 */
export async function placeCall(
  hooks: TwilioWebhooks,
  opts: { digits?: string; from?: string; callSid?: string; extra?: Record<string, string> } = {},
): Promise<SimulatedCall> {
  const callSid = opts.callSid ?? randomSid('CA');
  const from = opts.from ?? testNumber();
  // The call is Twilio's: the peer holds it (in progress, its caller ID) and sends its `completed`.
  const location = Object.fromEntries(Object.entries(opts.extra ?? {}).filter(([k]) => /^(From|To)(City|State|Zip|Country)$/.test(k)));
  hooks.peer?.registerCall(callSid, from, '+15550000000', {
    statusCallback: hooks.publicUrl.replace(/\/$/, '') + '/twilio/voice/status',
    location,
  });
  const base = {
    AccountSid: 'AC' + '0123456789abcdef'.repeat(2),
    CallSid: callSid,
    From: from,
    To: '+15550000000',
    CallStatus: 'ringing',
    Direction: 'inbound',
    // What else Twilio sends with every request of the call (e.g. the caller-ID location FromCity...).
    ...opts.extra,
  };
  const incoming = await hooks.post('/twilio/voice/incoming', base);
  if (incoming.status !== 200) throw new Error(`incoming answered ${incoming.status}`);
  const action = twimlAttr(incoming.text, 'Gather', 'action');
  if (!action) throw new Error(`no menu in ${incoming.text}`);
  const consent = await hooks.post(action, { ...base, CallStatus: 'in-progress', Digits: opts.digits ?? '1' });
  if (consent.status !== 200) throw new Error(`consent answered ${consent.status}`);
  const waitUrl = twimlAttr(consent.text, 'Enqueue', 'waitUrl');
  if (!waitUrl) throw new Error(`not enqueued: ${consent.text}`);
  const callId = new URL(waitUrl).searchParams.get('c')!;
  return { callSid, from, callId, waitUrl, enqueueTwiml: consent.text };
}

/**
 * A status callback for a call (SequenceNumber as Twilio numbers them), posted by the test. A
 * terminal one also ends the call at the peer (it leaves its conference; its own callbacks go too).
 */
export function callStatus(
  hooks: TwilioWebhooks,
  call: { callSid: string; from: string },
  status: string,
  sequence: number,
): Promise<WebhookReply> {
  if (['completed', 'busy', 'failed', 'no-answer', 'canceled'].includes(status)) hooks.peer?.endQuietly(call.callSid);
  return hooks.post('/twilio/voice/status', {
    CallSid: call.callSid,
    From: call.from,
    CallStatus: status,
    SequenceNumber: String(sequence),
    AccountSid: 'AC' + '0123456789abcdef'.repeat(2),
  });
}

export interface Staff {
  id: string;
  username: string;
  role: Role;
  token: string;
}

/** An access token as records' login would issue it. */
export function staff(env: Env, role: Role, username = `${role}-${randomUUID().slice(0, 8)}`): Staff {
  const id = randomUUID();
  return { id, username, role, token: new TokenService(env).sign({ id, username, role }) };
}

/** Every event a console socket received, in order, with a way to wait for the next match. */
export class ConsoleClient {
  readonly events: { event: string; payload: any; at: number }[] = [];
  private waiters: { match: (e: string, p: any) => boolean; resolve: (p: any) => void }[] = [];

  constructor(readonly socket: Socket) {
    socket.onAny((event: string, payload: unknown) => {
      this.events.push({ event, payload, at: Date.now() });
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(event, payload)) return true;
        w.resolve(payload);
        return false;
      });
    });
  }

  /**
   * The first `event` matching `where`: already received, or the next to come (`seen: false`: only the next;
   * `after`: received since `events` had that length, e.g. taken before an emit whose effects may beat its ack).
   */
  next<T = any>(
    event: string,
    where: (p: T) => boolean = () => true,
    opts: { timeoutMs?: number; seen?: boolean; after?: number } = {},
  ): Promise<T> {
    if (opts.seen !== false) {
      const hit = this.events.slice(opts.after ?? 0).find((e) => e.event === event && where(e.payload));
      if (hit) return Promise.resolve(hit.payload);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${event} within ${opts.timeoutMs ?? 10000} ms; got ${JSON.stringify(this.events.slice(-8))}`)),
        opts.timeoutMs ?? 10000,
      );
      this.waiters.push({ match: (e, p) => e === event && where(p), resolve: (p) => (clearTimeout(timer), resolve(p)) });
    });
  }

  of(event: string): any[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload);
  }

  emit<T = any>(event: string, payload: unknown, timeoutMs = 10000): Promise<T> {
    return this.socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Connects to a console namespace as the browser does (websocket only, `auth: { token }`). */
export function connectConsole(baseUrl: string, namespace: ConsoleNamespace, token: string | undefined): Promise<ConsoleClient> {
  const socket = io(baseUrl + namespace, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const client = new ConsoleClient(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('connect_error', (e) => {
      socket.disconnect();
      reject(e);
    });
  });
}

/** Polls until `check` returns a truthy value (for state written asynchronously, e.g. a replayed job). */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 10000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The operator's browser answers the leg the gateway had Twilio ring for this call (a conference
 * leg or a direct `<Dial><Client>`): the test stands in for the console's voice device and takes
 * the ringing leg whose custom parameters name the call. Only then is the call on record as
 * answered by that operator, and their console told it is connected. Returns the leg's CallSid.
 */
export async function operatorAnswers(
  _hooks: TwilioWebhooks,
  peer: TwilioPeer,
  call: { callSid: string; callId?: string },
): Promise<string> {
  // The call's id: given, or read from the TwiML the gateway gave the caller (the conference's name, or the leg's parameter).
  const twiml = [...peer.callUpdates].reverse().find((u) => u.callSid === call.callSid)?.params.Twiml ?? '';
  const callId = call.callId ?? twimlText(twiml, 'Conference') ?? /<Parameter name="callId" value="([^"]+)"/.exec(twiml)?.[1] ?? undefined;
  const ofCall = (sid: string, params: Record<string, string>) =>
    (!!callId && params.callId === callId) || peer.calls.get(sid)?.parentCallSid === call.callSid;
  const leg = await eventually(
    async () => {
      const ringing = peer.devices.ringing().find((l) => ofCall(l.callSid, l.customParameters));
      if (ringing) return { sid: ringing.callSid, ringing: true };
      // Already taken by a console's device (consoleDevice): nothing left to do.
      const taken = [...peer.calls.values()].find(
        (c) => c.status === 'in-progress' && c.to.startsWith('client:') && ofCall(c.sid, c.customParameters),
      );
      return taken ? { sid: taken.sid, ringing: false } : null;
    },
    // Generous: on a loaded machine (CI beside other work) the leg can take seconds to be dialled.
    15000,
    5,
  ).catch(() => {
    throw new Error(`no browser leg rang for call ${call.callId ?? call.callSid}`);
  });
  if (leg.ringing) peer.devices.accept(leg.sid);
  await peer.settled();
  return leg.sid;
}

/**
 * A console's voice device as the console page runs it (libs/contract ExpectedLegs, the same rule):
 * told of each leg on its socket (`voice:leg`), it takes the legs meant for it, after `answerAfterMs`
 * of ringing, and refuses any other once the grace for a late announcement has passed. Returns its
 * unregister.
 */
export function consoleDevice(peer: TwilioPeer, client: ConsoleClient, staffId: string, opts: { answerAfterMs?: number } = {}): () => void {
  const expected = new ExpectedLegs(staffId);
  for (const a of client.of('voice:leg') as VoiceLegAnnouncement[]) expected.announce(a);
  const onLeg = (a: VoiceLegAnnouncement) => expected.announce(a);
  client.socket.on('voice:leg', onLeg);
  // HOTLINE_TEST_LENIENT_DEVICES=1: take every leg at once, as the old peer did (to replay a finding's
  // test against a gateway from before browser legs carried their parameters). Never set in a normal run.
  const lenient = process.env.HOTLINE_TEST_LENIENT_DEVICES === '1';
  const unregister = peer.devices.register(`op-${staffId}`, (leg) => {
    if (lenient) return void setTimeout(() => leg.accept(), opts.answerAfterMs ?? 0);
    const deadline = Date.now() + VOICE_LEG_GRACE_MS;
    const decide = () => {
      if (leg.state !== 'ringing') return;
      const d = expected.decide(leg.customParameters);
      if (d.decision === 'accept') setTimeout(() => leg.accept(), opts.answerAfterMs ?? 0);
      else if (d.decision === 'reject' || Date.now() > deadline) leg.reject();
      else setTimeout(decide, 10);
    };
    decide();
  });
  return () => {
    unregister();
    client.socket.off('voice:leg', onLeg);
  };
}
