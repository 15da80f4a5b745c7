/**
 * Memory of one gateway process holding OPERATORS operator consoles: the gateway runs as its own
 * process (as `npm run start:gateway` runs it), consoles connect to `/operator` over websocket from
 * this process, each signed in and registered in Redis; the gateway's resident set size is read
 * from /proc before (the floor: the same process idle) and with every console connected.
 */
import { readFileSync } from 'fs';
import Redis from 'ioredis';
import { RoutingStore } from '@hotline/routing';
import { AppProcess, freePort, startAppProcess, waitForHttp } from '../test/support/app-process';
import { envFor } from '../test/support/env-for';
import { ConsoleClient, connectConsole, staff } from '../test/support/webhooks';
import { Bench, BenchRow } from './types';

const OPERATORS = Number(process.env.SOCKETS_BENCH_OPERATORS ?? 1000);
const BATCH = 50;
const TARGET_MB = 300;

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

const bench: Bench = async () => {
  const env = envFor();
  const redis = new Redis(env.REDIS_URL);
  const store = new RoutingStore(redis, { offerTimeoutMs: 30000, graceMs: 1000, serviceLevelMs: 30000, timeZone: 'UTC' });
  await store.clear();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let gateway: AppProcess | undefined;
  const consoles: ConsoleClient[] = [];
  try {
    gateway = startAppProcess('gateway', { GATEWAY_PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', LOG_CAPTURE_FILE: '' });
    await waitForHttp(`${base}/health`, gateway, 60_000);
    // Warm the process the way the first console would (bundle served, one socket in and out).
    await fetch(`${base}/`);
    (await connectConsole(base, '/operator', staff(env, 'operator').token)).close();
    await settle(1000);
    const idle = rssMb(gateway.child.pid!);

    for (let i = 0; i < OPERATORS; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(BATCH, OPERATORS - i) }, async () => {
          const c = await connectConsole(base, '/operator', staff(env, 'operator').token);
          await c.next('status');
          return c;
        }),
      );
      consoles.push(...batch);
    }
    const { operators } = await store.stats();
    const registered = operators.away + operators.available;
    await settle(2000);
    if (consoles.length !== OPERATORS) throw new Error(`only ${consoles.length} of ${OPERATORS} consoles connected`);
    const held = rssMb(gateway.child.pid!);
    const perSocketKb = ((held.rss - idle.rss) * 1024) / OPERATORS;
    const rows: BenchRow[] = [
      {
        name: `gateway RSS holding ${OPERATORS} operator sockets`,
        value: held.rss,
        unit: 'MB',
        floor: { name: 'same gateway, idle', value: idle.rss, unit: 'MB' },
        target: `< ${TARGET_MB} MB`,
        pass: held.rss < TARGET_MB,
        goal: { on: 'value', below: TARGET_MB },
        notes: `${perSocketKb.toFixed(1)} KB per socket above idle; peak ${held.peak.toFixed(0)} MB; ${registered} operators registered in Redis; gateway run as by start:gateway (sources transpiled on load by swc, scripts/register.js)`,
      },
    ];
    return rows;
  } finally {
    for (const c of consoles) c.close();
    await gateway?.stop('SIGTERM');
    await store.clear();
    await redis.quit();
  }
};

export default bench;
