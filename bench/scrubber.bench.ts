/**
 * Log scrubbing under hostile input. (1) `scrubString` on 16 KB strings built to make a
 * backtracking pattern go quadratic, against the pattern it replaced, in the same run. (2) The real
 * gateway at the production log level (`info`: each request's URL is logged and scrubbed) while
 * four clients send `GET /twilio/` + a 16 KB hostile path in a loop: the latency of a second,
 * ordinary request (`GET /health`) must stay under 50 ms at p99. The clients run in a child
 * process, so they do not share the gateway's event loop.
 */
import { fork } from 'child_process';
import { Agent, request } from 'http';
import { AddressInfo } from 'net';
import { scrubString } from '../libs/observability/src/redaction';
import { envFor } from '../test/support/env-for';
import { Bench, BenchRow } from './types';

const HOSTILE_PATH = '/twilio/' + '.1-'.repeat(5300);
const HOSTILE_CLIENTS = 4;
const PROBES = Number(process.env.SCRUBBER_BENCH_PROBES ?? 300);

function get(agent: Agent, url: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

// In the load child: hostile clients and the probe, both timed from outside the gateway.
if (process.env.HOTLINE_SCRUB_LOADGEN === '1') {
  process.on('message', async (m: { base: string }) => {
    try {
      let stop = false;
      let hostileSent = 0;
      const hostileAgent = new Agent({ keepAlive: true, maxSockets: HOSTILE_CLIENTS });
      const hostile = Array.from({ length: HOSTILE_CLIENTS }, async () => {
        while (!stop) {
          const r = await get(hostileAgent, m.base + HOSTILE_PATH);
          if (r.status !== 403 && r.status !== 404 && r.status !== 414) throw new Error(`hostile path answered ${r.status}`);
          hostileSent++;
        }
      });
      const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      const latencies: number[] = [];
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < PROBES; i++) {
        const r = await get(probeAgent, m.base + '/health');
        latencies.push(r.ms);
        await new Promise((r) => setTimeout(r, 5));
      }
      stop = true;
      await Promise.all(hostile);
      hostileAgent.destroy();
      probeAgent.destroy();
      process.send!({ ok: true, latencies, hostileSent });
    } catch (e) {
      process.send!({ ok: false, error: String((e as Error)?.message ?? e) });
    }
  });
}

function perCallMs(f: () => void, minMs = 300): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    f();
    n++;
  }
  return (performance.now() - t0) / n;
}

const bench: Bench = async () => {
  const OLD = /(?<![\w-])\+?\d[\d\s().-]{5,}\d(?![\w-])/g;
  const hostile = '.1-'.repeat(5461);
  const scrubMs = perCallMs(() => scrubString(hostile));
  const oldMs = perCallMs(() => hostile.replace(OLD, (x) => x), 1000);
  const rows: BenchRow[] = [
    {
      name: 'log scrubber on a 16 KB hostile string',
      value: scrubMs,
      unit: 'ms',
      floor: { name: 'the backtracking pattern it replaced', value: oldMs, unit: 'ms' },
      target: '< 1 ms',
      pass: scrubMs < 1,
      goal: { on: 'value', below: 1 },
    },
  ];

  process.env.LOG_LEVEL = 'info';
  const { createGatewayApp } = await import('../apps/gateway/src/bootstrap');
  const app = await createGatewayApp(envFor({ LOG_LEVEL: 'info', PUBLIC_URL: 'https://hotline.example.test' }));
  await app.listen(0, '127.0.0.1');
  const child = fork(__filename, [], {
    execArgv: ['-r', require.resolve('../scripts/register.js')],
    env: { ...process.env, HOTLINE_SCRUB_LOADGEN: '1' },
  });
  try {
    const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const result: { ok: boolean; latencies?: number[]; hostileSent?: number; error?: string } = await new Promise((resolve) => {
      child.once('message', (m: any) => resolve(m));
      child.send({ base });
    });
    if (!result.ok) throw new Error(result.error);
    const l = result.latencies!.sort((a, b) => a - b);
    const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))];
    rows.push({
      name: `/health latency while ${HOSTILE_CLIENTS} clients send 16 KB hostile paths (log level info)`,
      value: q(0.99),
      unit: 'ms p99',
      target: '< 50 ms',
      pass: q(0.99) < 50,
      goal: { on: 'value', below: 50 },
      notes: `median ${q(0.5).toFixed(2)} ms over ${l.length} probes; ${result.hostileSent} hostile requests answered meanwhile`,
    });
    return rows;
  } finally {
    child.kill();
    await app.close();
  }
};

export default bench;
