/**
 * Load for the webhook benchmarks (intake, consent): signed Twilio form posts, CONCURRENCY in
 * flight over loopback keep-alive connections, driven from a child process (as a load tester would)
 * so that the load does not share the servers' event loop.
 */
import { ChildProcess, fork } from 'child_process';
import { randomUUID } from 'crypto';
import { Agent, request } from 'http';
import { TEST_SECRETS } from '../../test/support/test-config';
import { randomSid, signTwilioRequest } from '../../test/support/twilio-peer';
import { testNumber } from '../../test/support/webhooks';

export const CONCURRENCY = 16;
export const PUBLIC_URL = 'https://hotline.example.test';
export const INCOMING_PATH = '/twilio/voice/incoming';
export const CONSENT_PATH = '/twilio/voice/consent';

/** `incoming`: a new call; `consent`: the menu's answer (1) for a new call, as Twilio posts it to the Gather action. */
export type WebhookKind = 'incoming' | 'consent';

export interface Signed {
  path: string;
  body: string;
  signature: string;
}

export interface Run {
  rps: number;
  p50: number;
  p99: number;
  latencies: number[];
  seconds: number;
}

function requests(kind: WebhookKind, n: number): Signed[] {
  return Array.from({ length: n }, () => {
    const params: Record<string, string> = {
      AccountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      CallSid: randomSid('CA'),
      From: testNumber(),
      To: '+15550000000',
      CallStatus: kind === 'incoming' ? 'ringing' : 'in-progress',
      Direction: 'inbound',
    };
    let path = INCOMING_PATH;
    if (kind === 'consent') {
      params.Digits = '1';
      // The Gather action of the menu: the call id and the time the call started.
      path = `${CONSENT_PATH}?c=${randomUUID()}&t=${Date.now()}`;
    }
    return {
      path,
      body: new URLSearchParams(params).toString(),
      signature: signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL + path, params),
    };
  });
}

function post(agent: Agent, url: string, r: Signed): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url + r.path,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(r.body),
          'x-twilio-signature': r.signature,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

function quantiles(latencies: number[], seconds: number): Run {
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), latencies, seconds };
}

/** Several rounds as one: all their latencies, throughput over their summed time. */
export function combine(runs: Run[]): Run {
  return quantiles(
    runs.flatMap((r) => r.latencies),
    runs.reduce((s, r) => s + r.seconds, 0),
  );
}

async function drive(url: string, load: Signed[], expect: string): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < load.length) {
        const r = load[next++];
        const t0 = performance.now();
        const res = await post(agent, url, r);
        if (res.status !== 200 || !res.text.includes(expect))
          throw new Error(`${r.path.split('?')[0]} answered ${res.status}: ${res.text.slice(0, 120)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return quantiles(latencies, seconds);
}

interface Ask {
  url: string;
  kind: WebhookKind;
  n: number;
  expect: string;
}

// In the load-generator child: drive what the parent asks for and send the results back.
if (process.env.HOTLINE_WEBHOOK_LOADGEN === '1') {
  process.on('message', (m: Ask) => {
    drive(m.url, requests(m.kind, m.n), m.expect).then(
      (r) => process.send!({ ok: true, run: r }),
      (e) => process.send!({ ok: false, error: String(e?.message ?? e) }),
    );
  });
}

/** A load generator in a child process. `expect`: a string every answer must contain. */
export function loadGenerator(): { run(url: string, kind: WebhookKind, n: number, expect: string): Promise<Run>; stop(): void } {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', require.resolve('../../scripts/register.js')],
    env: { ...process.env, HOTLINE_WEBHOOK_LOADGEN: '1' },
  });
  return {
    run: (url, kind, n, expect) =>
      new Promise((resolve, reject) => {
        child.once('message', (m: any) => (m.ok ? resolve(m.run) : reject(new Error(m.error))));
        child.send({ url, kind, n, expect } satisfies Ask);
      }),
    stop: () => void child.kill(),
  };
}

/** Reads a request's form body. */
export function formBody(req: import('http').IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()))));
    req.on('error', reject);
  });
}

/**
 * The gateway against its bare floor, under the same load from a child process: a warm-up of each,
 * then interleaved rounds (a noisy neighbour on the machine weighs on both alike). The two servers
 * must already listen; the load generator is started and stopped here.
 */
export async function gatewayAgainstFloor(
  gatewayUrl: string,
  floorUrl: string,
  opts: { kind: WebhookKind; expect: string; requests: number; warmup: number; rounds?: number },
): Promise<{ gateway: Run; floor: Run }> {
  const load = loadGenerator();
  const rounds = opts.rounds ?? 4;
  try {
    await load.run(gatewayUrl, opts.kind, opts.warmup, opts.expect);
    await load.run(floorUrl, opts.kind, opts.warmup, opts.expect);
    const floorRuns: Run[] = [];
    const gatewayRuns: Run[] = [];
    for (let i = 0; i < rounds; i++) {
      floorRuns.push(await load.run(floorUrl, opts.kind, opts.requests / rounds, opts.expect));
      gatewayRuns.push(await load.run(gatewayUrl, opts.kind, opts.requests / rounds, opts.expect));
    }
    return { gateway: combine(gatewayRuns), floor: combine(floorRuns) };
  } finally {
    load.stop();
  }
}
