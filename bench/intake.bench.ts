/**
 * Call intake: `POST /twilio/voice/incoming` on the real gateway (signature check, call id, notice
 * and consent menu as TwiML) against a bare `node:http` handler doing the same signature check with
 * twilio's validateRequest and answering a fixed TwiML, in the same run, with the same load:
 * signed form posts, CONCURRENCY in flight, over loopback keep-alive connections. The load comes
 * from a child process (as a load tester would), so it does not share the servers' event loop.
 */
import { ChildProcess, fork } from 'child_process';
import { Agent, createServer, IncomingMessage, request, Server } from 'http';
import { AddressInfo } from 'net';
import twilio from 'twilio';
import { createGatewayApp } from '../apps/gateway/src/bootstrap';
import { envFor } from '../test/support/env-for';
import { TEST_SECRETS } from '../test/support/test-config';
import { randomSid, signTwilioRequest } from '../test/support/twilio-peer';
import { testNumber } from '../test/support/webhooks';
import { Bench, BenchRow } from './types';

const REQUESTS = Number(process.env.INTAKE_BENCH_REQUESTS ?? 4000);
const WARMUP = 300;
const CONCURRENCY = 16;
const PUBLIC_URL = 'https://hotline.example.test';
const PATH = '/twilio/voice/incoming';

interface Signed {
  body: string;
  signature: string;
}

function requests(n: number): Signed[] {
  return Array.from({ length: n }, () => {
    const params = {
      AccountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      CallSid: randomSid('CA'),
      From: testNumber(),
      To: '+15550000000',
      CallStatus: 'ringing',
      Direction: 'inbound',
    };
    return {
      body: new URLSearchParams(params).toString(),
      signature: signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL + PATH, params),
    };
  });
}

function post(agent: Agent, url: string, r: Signed): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url + PATH,
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

interface Run {
  rps: number;
  p50: number;
  p99: number;
  latencies: number[];
  seconds: number;
}

function combine(runs: Run[]): Run {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), latencies, seconds };
}

async function drive(url: string, load: Signed[]): Promise<Run> {
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
        if (res.status !== 200 || !res.text.includes('<Response')) throw new Error(`intake answered ${res.status}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { rps: load.length / seconds, p50: q(0.5), p99: q(0.99), latencies, seconds };
}

// In the load-generator child: drive what the parent asks for and send the results back.
if (process.env.HOTLINE_INTAKE_LOADGEN === '1') {
  process.on('message', (m: { url: string; n: number }) => {
    drive(m.url, requests(m.n)).then(
      (r) => process.send!({ ok: true, run: r }),
      (e) => process.send!({ ok: false, error: String(e?.message ?? e) }),
    );
  });
}

function loadGenerator(): { run(url: string, n: number): Promise<Run>; stop(): void } {
  const child: ChildProcess = fork(__filename, [], {
    execArgv: ['-r', require.resolve('../scripts/register.js')],
    env: { ...process.env, HOTLINE_INTAKE_LOADGEN: '1' },
  });
  return {
    run: (url, n) =>
      new Promise((resolve, reject) => {
        child.once('message', (m: any) => (m.ok ? resolve(m.run) : reject(new Error(m.error))));
        child.send({ url, n });
      }),
    stop: () => void child.kill(),
  };
}

function bareServer(): Promise<Server> {
  const fixed =
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>notice</Say><Gather numDigits="1"><Say>menu</Say></Gather></Response>';
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
      const ok = twilio.validateRequest(
        TEST_SECRETS.TWILIO_AUTH_TOKEN,
        String(req.headers['x-twilio-signature'] ?? ''),
        PUBLIC_URL + req.url,
        params,
      );
      res.statusCode = ok ? 200 : 403;
      res.setHeader('Content-Type', 'text/xml');
      res.end(ok ? fixed : 'Forbidden');
    });
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

const bench: Bench = async () => {
  const app = await createGatewayApp(envFor({ PUBLIC_URL }));
  await app.listen(0, '127.0.0.1');
  const bare = await bareServer();
  const load = loadGenerator();
  try {
    const gatewayUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    await load.run(gatewayUrl, WARMUP);
    await load.run(bareUrl, WARMUP);
    // Interleaved rounds, so that a noisy neighbour on the machine weighs on both alike.
    const rounds = 4;
    const bareRuns: Awaited<ReturnType<typeof drive>>[] = [];
    const gwRuns: Awaited<ReturnType<typeof drive>>[] = [];
    for (let i = 0; i < rounds; i++) {
      bareRuns.push(await load.run(bareUrl, REQUESTS / rounds));
      gwRuns.push(await load.run(gatewayUrl, REQUESTS / rounds));
    }
    const floor = combine(bareRuns);
    const gw = combine(gwRuns);
    const ratio = gw.rps / floor.rps;
    const rows: BenchRow[] = [
      {
        name: `call intake webhook throughput (${CONCURRENCY} in flight)`,
        value: gw.rps,
        unit: 'req/s',
        floor: { name: 'bare node:http + same signature check', value: floor.rps, unit: 'req/s' },
        ratio,
        target: '>= 0.3',
        pass: ratio >= 0.3,
      },
      {
        name: 'call intake webhook p99 latency',
        value: gw.p99,
        unit: 'ms',
        floor: { name: 'bare node:http p99', value: floor.p99, unit: 'ms' },
        target: '< 50 ms',
        pass: gw.p99 < 50,
        notes: `p50 ${gw.p50.toFixed(2)} ms (bare ${floor.p50.toFixed(2)} ms), ${REQUESTS} requests each`,
      },
    ];
    return rows;
  } finally {
    load.stop();
    await app.close();
    await new Promise<void>((r) => bare.close(() => r()));
  }
};

export default bench;
