import twilio from 'twilio';

/**
 * How the local Twilio peer delivers what Twilio sends to the gateway, as Twilio does:
 *
 * - every request is form-encoded (POST) or in the query (GET) and signed for the public URL it
 *   names (`X-Twilio-Signature`, twilio's own helper), then sent to where the gateway listens;
 * - status-type callbacks (call progress, conference events, recordings) are fired and forgotten:
 *   each after its own random delay, concurrently, so they arrive in no guaranteed order, and some
 *   of them twice (Twilio gives no ordering guarantee and may retry; the gateway must apply each
 *   once, by SequenceNumber);
 * - a TwiML fetch (a conference's waitUrl, a hold URL, an outbound call's Url, a `<Dial>` action)
 *   waits for the answer;
 * - Twilio gives up on a request after 15 seconds: a TwiML fetch that takes longer fails the call
 *   ("an application error has occurred"), and the peer keeps the failure so the test fails too.
 */
export interface PeerRealism {
  /** Status callbacks are each delayed by a random 0..jitterMs, concurrently (out of order). */
  jitterMs: number;
  /** Share of status callbacks delivered a second time. */
  duplicateRate: number;
  /** Twilio waits this long for an answer (15 s). */
  webhookTimeoutMs: number;
  /** How long after a call completes Twilio still refuses to delete it (error 20009). */
  deleteRefusalMs: number;
  /** Outbound calls (Calls and Participants created) the account may start per second; more: 429. */
  cps: number;
  /** Ring and play times are the real ones times this (tests compress time; 1 is real time). */
  timeScale: number;
  /** The seed of this peer's random draws (printed when a run fails, to replay it). */
  seed: number;
}

/** The suite's default: every behaviour on, time compressed. `HOTLINE_PEER_SEED` replays a run's draws. */
export function realisticDefaults(overrides: Partial<PeerRealism> = {}): PeerRealism {
  const seed = Number(process.env.HOTLINE_PEER_SEED ?? Math.floor(Math.random() * 2 ** 31));
  return {
    jitterMs: 30,
    duplicateRate: 0.15,
    webhookTimeoutMs: 15_000,
    deleteRefusalMs: 1_500,
    cps: Number(process.env.HOTLINE_PEER_CPS ?? 30),
    timeScale: 0.05,
    seed,
    ...overrides,
  };
}

/** A small seeded generator (mulberry32): one peer's draws are replayable from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PeerDelivery {
  url: string;
  method: 'POST' | 'GET';
  params: Record<string, string>;
  /** HTTP status the gateway answered; 0 while in flight; -1 no answer (connection refused, or 15 s passed). */
  status: number;
  ms: number;
  /** 2 for the duplicate of a callback. */
  copy: 1 | 2;
  body?: string;
}

/** A problem Twilio would have seen in how the gateway answered (a test fails on any). */
export interface WebhookFailure {
  path: string;
  what: string;
}

export class PeerWebhooks {
  readonly deliveries: PeerDelivery[] = [];
  readonly failures: WebhookFailure[] = [];
  /** Gateways under test, newest last: requests go to the newest one still listening. */
  readonly gateways: { publicUrl: string; gatewayUrl: string; listening: () => boolean }[] = [];
  private fixed?: { publicUrl: string; gatewayUrl: string };

  /** Where requests go: the public URL they name is rebased onto this (a gateway's own address). */
  get deliverTo(): { publicUrl: string; gatewayUrl: string } | undefined {
    if (this.fixed) return this.fixed;
    const g = [...this.gateways].reverse().find((x) => x.listening());
    return g ? { publicUrl: g.publicUrl, gatewayUrl: g.gatewayUrl } : undefined;
  }

  set deliverTo(d: { publicUrl: string; gatewayUrl: string } | undefined) {
    this.fixed = d;
  }
  /** Checks each request's parameters against Twilio's documented ones for its route (the contract). */
  check?: (path: string, params: Record<string, string>) => void;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly authToken: string,
    readonly realism: PeerRealism,
    private readonly random: () => number,
  ) {}

  /** Callbacks a test holds back (a late event, as Twilio may deliver it): matching ones wait this much longer. */
  readonly lateBy: { match: (params: Record<string, string>) => boolean; ms: number }[] = [];

  /** A status callback: after a random delay, concurrently with the others, sometimes twice. Not awaited. */
  callback(url: string | null | undefined, params: Record<string, string>, method: 'POST' | 'GET' = 'POST'): void {
    if (!url) return;
    const copies = this.random() < this.realism.duplicateRate ? 2 : 1;
    const late = this.lateBy.find((l) => l.match(params))?.ms ?? 0;
    for (let copy = 1; copy <= copies; copy++) {
      const delay = late + Math.floor(this.random() * this.realism.jitterMs) * copy;
      this.track(
        new Promise<void>((resolve) =>
          setTimeout(() => {
            void this.send(url, params, method, copy as 1 | 2).then(() => resolve());
          }, delay),
        ),
      );
    }
  }

  /** A request whose answer is TwiML to run: awaited; null when it failed (the call then fails, as at Twilio). */
  async fetchTwiml(url: string, params: Record<string, string>, method: 'POST' | 'GET' = 'POST'): Promise<string | null> {
    const p = this.send(url, params, method, 1);
    this.track(p);
    const d = await p;
    if (!d || d.status !== 200) return null;
    return d.body ?? '';
  }

  /** Resolves when every request sent or scheduled so far has been answered (or given up on). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private target(url: string): string | null {
    const to = this.deliverTo;
    if (!to) return null;
    const base = to.publicUrl.replace(/\/$/, '');
    if (!url.startsWith(base)) return null;
    return to.gatewayUrl.replace(/\/$/, '') + url.slice(base.length);
  }

  private async send(url: string, params: Record<string, string>, method: 'POST' | 'GET', copy: 1 | 2): Promise<PeerDelivery | null> {
    const target = this.target(url);
    if (!target) return null;
    const path = new URL(url).pathname;
    if (copy === 1) this.check?.(path, params);
    const d: PeerDelivery = { url, method, params, status: 0, ms: 0, copy };
    this.deliveries.push(d);
    const started = Date.now();
    const get = method === 'GET';
    let signedUrl = url;
    let sendTo = target;
    if (get) {
      const u = new URL(url);
      const t = new URL(target);
      for (const [k, v] of Object.entries(params)) {
        u.searchParams.set(k, v);
        t.searchParams.set(k, v);
      }
      signedUrl = u.toString();
      sendTo = t.toString();
    }
    try {
      const res = await fetch(sendTo, {
        method,
        headers: {
          ...(get ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
          'X-Twilio-Signature': twilio.getExpectedTwilioSignature(this.authToken, signedUrl, get ? {} : params),
          'User-Agent': 'TwilioProxy/1.1',
          'I-Twilio-Idempotency-Token': `${Date.now()}-${copy}`,
        },
        body: get ? undefined : new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(this.realism.webhookTimeoutMs),
      });
      d.body = await res.text();
      d.status = res.status;
    } catch (e) {
      d.status = -1;
      if ((e as Error).name === 'TimeoutError')
        this.failures.push({
          path,
          what: `no answer within ${this.realism.webhookTimeoutMs / 1000} s (Twilio gives up: application error)`,
        });
    }
    d.ms = Date.now() - started;
    if (d.status > 0 && d.status !== 200 && d.status !== 204) this.failures.push({ path, what: `answered HTTP ${d.status}` });
    return d;
  }
}
