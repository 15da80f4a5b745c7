import { IncomingMessage, ServerResponse } from 'http';
import { verify } from 'jsonwebtoken';

/**
 * Voice SDK devices, as the local Twilio peer plays them: a browser leg (`client:<identity>`) rings
 * every device registered for that identity until one accepts it, one rejects it (the leg is then
 * `busy`), or its timeout passes (`no-answer`); a leg to an identity with no device rings out.
 * Nothing answers by itself: the console (or a test standing in for it) decides, from the leg's
 * custom parameters, as the Voice SDK's `Device` lets it.
 *
 * Devices register in two ways: in the test's own process (`register(identity, handler)`), or, for
 * a browser, over HTTP: `GET /_devices/events?token=<Voice access token>` is a server-sent event
 * stream (`registered`, `incoming`, `cancel`, `disconnect`) for the token's identity, and
 * `POST /_devices/calls/<CallSid>/(accept|reject|disconnect)?token=…` answers. The token is checked
 * as Twilio checks it: an HS256 JWT signed with an API key secret this peer knows (`trustKey`),
 * with a voice grant allowing incoming calls.
 */
export type LegOutcome = 'answered' | 'rejected' | 'no-answer' | 'canceled';

export interface RingingLeg {
  readonly callSid: string;
  readonly identity: string;
  readonly from: string;
  readonly customParameters: Record<string, string>;
  readonly state: 'ringing' | 'answered' | 'rejected' | 'canceled' | 'no-answer' | 'ended';
  accept(): void;
  reject(): void;
  /** The device hangs up an answered leg. */
  disconnect(): void;
  /** Told when the leg stops ringing without this device (`cancel`) or ends after answering (`disconnect`). */
  on(event: 'cancel' | 'disconnect', fn: () => void): void;
}

export type DeviceHandler = (leg: RingingLeg) => void;

export interface Ring {
  outcome: Promise<LegOutcome>;
  /** Stop ringing (the call went elsewhere, or the conference ended). */
  cancel(): void;
  /** The peer ended an answered leg (removed, conference over): devices hear `disconnect`. */
  ended(): void;
  /** Set by the one who rang: the device hung up an answered leg. */
  onDeviceHangUp?: () => void;
}

class Leg implements RingingLeg {
  state: RingingLeg['state'] = 'ringing';
  private readonly listeners = { cancel: [] as (() => void)[], disconnect: [] as (() => void)[] };

  constructor(
    readonly callSid: string,
    readonly identity: string,
    readonly from: string,
    readonly customParameters: Record<string, string>,
    private readonly settle: (o: LegOutcome) => void,
    private readonly hungUp: () => void,
  ) {}

  accept(): void {
    if (this.state !== 'ringing') return;
    this.state = 'answered';
    this.settle('answered');
  }

  reject(): void {
    if (this.state !== 'ringing') return;
    this.state = 'rejected';
    this.settle('rejected');
  }

  disconnect(): void {
    if (this.state !== 'answered') return;
    this.state = 'ended';
    this.hungUp();
  }

  on(event: 'cancel' | 'disconnect', fn: () => void): void {
    this.listeners[event].push(fn);
  }

  emit(event: 'cancel' | 'disconnect'): void {
    for (const fn of this.listeners[event]) fn();
  }
}

interface Registration {
  handler: DeviceHandler;
}

export class PeerDevices {
  private readonly registered = new Map<string, Set<Registration>>();
  private readonly keys = new Map<string, string>();
  /** Every leg that rang, by CallSid (one device's side of it), for tests and browsers to answer. */
  private readonly legs = new Map<string, { leg: Leg; identity: string }>();
  /**
   * Legs to an identity with no device: answered after this many ms. Off (null) in tests, where a
   * leg nobody takes rings out; the demo, which has no audio at all, turns it on.
   */
  answerUnregisteredAfterMs: number | null = null;
  /** Every leg that rang, with how it ended (tests read it). */
  readonly history: { callSid: string; identity: string; customParameters: Record<string, string>; outcome?: LegOutcome }[] = [];

  /** A device for `identity` in this process; returns its unregister. */
  register(identity: string, handler: DeviceHandler): () => void {
    const r: Registration = { handler };
    const set = this.registered.get(identity) ?? new Set<Registration>();
    set.add(r);
    this.registered.set(identity, set);
    return () => {
      set.delete(r);
      if (!set.size) this.registered.delete(identity);
    };
  }

  isRegistered(identity: string): boolean {
    return (this.registered.get(identity)?.size ?? 0) > 0;
  }

  /** An API key whose secret signs Voice access tokens that this peer accepts. */
  trustKey(sid: string, secret: string): void {
    this.keys.set(sid, secret);
  }

  /** Rings `identity`'s devices for at most `timeoutMs`. */
  ring(callSid: string, identity: string, from: string, customParameters: Record<string, string>, timeoutMs: number): Ring {
    const entry: (typeof this.history)[number] = { callSid, identity, customParameters };
    this.history.push(entry);
    let settle!: (o: LegOutcome) => void;
    const outcome = new Promise<LegOutcome>((r) => (settle = r));
    let done = false;
    const ring: Ring = {
      outcome,
      cancel: () => finish('canceled'),
      ended: () => {
        for (const l of legs) {
          if (l.state !== 'answered') continue;
          l.state = 'ended';
          l.emit('disconnect');
        }
      },
    };
    const legs: Leg[] = [];
    const finish = (o: LegOutcome, winner?: Leg) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      entry.outcome = o;
      for (const l of legs) {
        if (l === winner) continue;
        if (l.state !== 'ringing') continue;
        l.state = o === 'no-answer' ? 'no-answer' : 'canceled';
        l.emit('cancel');
      }
      settle(o);
    };
    const timer = setTimeout(() => finish('no-answer'), Math.max(1, timeoutMs));
    const handlers = [...(this.registered.get(identity) ?? [])];
    for (const h of handlers) {
      const leg: Leg = new Leg(
        callSid,
        identity,
        from,
        { ...customParameters },
        (o) => finish(o, leg),
        () => ring.onDeviceHangUp?.(),
      );
      legs.push(leg);
      this.legs.set(callSid, { leg, identity });
      try {
        h.handler(leg);
      } catch {
        // A device that throws simply does not answer.
      }
    }
    if (!handlers.length) {
      // Nobody's device takes it by itself: it rings out, unless a test answers it (`accept`), or
      // the demo answers every leg (it has no audio, so no device).
      const leg: Leg = new Leg(
        callSid,
        identity,
        from,
        { ...customParameters },
        (o) => finish(o, leg),
        () => ring.onDeviceHangUp?.(),
      );
      legs.push(leg);
      this.legs.set(callSid, { leg, identity });
      if (this.answerUnregisteredAfterMs !== null) setTimeout(() => leg.accept(), this.answerUnregisteredAfterMs);
    }
    return ring;
  }

  /** The legs ringing now (a test's view of the devices' screens). */
  ringing(): RingingLeg[] {
    return [...this.legs.values()].map((l) => l.leg).filter((l) => l.state === 'ringing');
  }

  /** Answers a ringing leg as its device would (a test standing in for the console). */
  accept(callSid: string): boolean {
    const held = this.legs.get(callSid);
    if (!held || held.leg.state !== 'ringing') return false;
    held.leg.accept();
    return true;
  }

  /** Refuses a ringing leg as its device would. */
  reject(callSid: string): boolean {
    const held = this.legs.get(callSid);
    if (!held || held.leg.state !== 'ringing') return false;
    held.leg.reject();
    return true;
  }

  /** The device hangs up an answered leg. */
  disconnect(callSid: string): boolean {
    const held = this.legs.get(callSid);
    if (!held || held.leg.state !== 'answered') return false;
    held.leg.disconnect();
    return true;
  }

  // ---- browser devices over HTTP ----------------------------------------------------------------

  /** Handles `/_devices/…` (answers true), or leaves the request alone (false). */
  handleHttp(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith('/_devices/')) return false;
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
    if (req.method === 'OPTIONS') {
      res.statusCode = 204;
      res.end();
      return true;
    }
    const identity = this.identityOf(url.searchParams.get('token') ?? '');
    if (!identity) {
      res.statusCode = 401;
      res.end(JSON.stringify({ code: 20101, message: 'Invalid Access Token' }));
      return true;
    }
    if (url.pathname === '/_devices/events' && req.method === 'GET') {
      this.stream(identity, req, res);
      return true;
    }
    const m = url.pathname.match(/^\/_devices\/calls\/(CA[0-9a-f]{32})\/(accept|reject|disconnect)$/);
    const held = m ? this.legs.get(m[1]) : undefined;
    if (!m || req.method !== 'POST' || !held || held.identity !== identity) {
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 20404, message: 'no such call for this device' }));
      return true;
    }
    if (m[2] === 'accept') held.leg.accept();
    else if (m[2] === 'reject') held.leg.reject();
    else held.leg.disconnect();
    res.statusCode = 204;
    res.end();
    return true;
  }

  private stream(identity: string, req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const unregister = this.register(identity, (leg) => {
      leg.on('cancel', () => send('cancel', { callSid: leg.callSid }));
      leg.on('disconnect', () => send('disconnect', { callSid: leg.callSid }));
      send('incoming', { callSid: leg.callSid, from: leg.from, customParameters: leg.customParameters });
    });
    send('registered', { identity });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 10_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      unregister();
    });
  }

  private identityOf(token: string): string | null {
    for (const [sid, secret] of this.keys) {
      try {
        const p = verify(token, secret, { algorithms: ['HS256'], issuer: sid }) as {
          grants?: { identity?: string; voice?: { incoming?: { allow?: boolean } } };
        };
        if (p.grants?.identity && p.grants.voice?.incoming?.allow) return p.grants.identity;
      } catch {
        // Try the next key.
      }
    }
    return null;
  }
}
