/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line),
 * prints one table and writes bench/results/latest.json with the machine it ran on.
 * Benchmarks use their own databases (`hotline_bench`, `hotline_keys_bench`) and Redis db 14,
 * recreated before each benchmark.
 */
import { execSync, spawnSync } from 'child_process';
import { readdirSync, writeFileSync, mkdirSync } from 'fs';
import os from 'os';
import { join } from 'path';
import { Bench, BenchRow } from './types';

process.env.HOTLINE_TEST_ID ??= 'bench';
process.env.HOTLINE_TEST_REDIS_DB ??= '14';
process.env.LOG_LEVEL ??= 'silent';

async function main() {
  const { testEnvVars } = await import('../test/support/test-config');
  for (const [k, v] of Object.entries(testEnvVars())) process.env[k] = v;
  const globalSetup = (await import('../test/support/global-setup')).default;
  // Each benchmark starts on freshly migrated, empty databases and an empty Redis database: what
  // one leaves behind (say, 200 MB of notes) must not slow the next.
  const freshDatabases = async () => {
    (globalThis as any).__hotlineSetupDone = false;
    await globalSetup();
  };

  // A child run: one benchmark, its result as JSON on the last line of stdout.
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    const f = process.argv[childIndex + 1];
    await freshDatabases();
    let out: { bench: string; rows: BenchRow[]; error?: string };
    try {
      const mod = await import(join(__dirname, f));
      out = { bench: f, rows: await (mod.default as Bench)() };
    } catch (e) {
      out = { bench: f, rows: [], error: (e as Error).stack ?? String(e) };
    }
    process.stdout.write('\n' + JSON.stringify(out) + '\n');
    process.exit(0);
  }

  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only.length || only.some((o) => f.includes(o)))
    .sort();
  const results: { bench: string; rows: BenchRow[]; error?: string }[] = [];
  for (const f of files) {
    process.stderr.write(`bench ${f} ...\n`);
    const started = Date.now();
    // Each benchmark in a Node process of its own: timers, sockets and heap left by one cannot
    // slow the next.
    const child = spawnSync(process.execPath, ['-r', './scripts/register.js', __filename, '--child', f], {
      cwd: join(__dirname, '..'),
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 2 ** 20,
    });
    // The result is the last line that starts {"bench": (an app logging at info may write after it).
    const last =
      child.stdout
        ?.toString()
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{"bench":')) ?? '';
    let result: { bench: string; rows: BenchRow[]; error?: string };
    try {
      result = JSON.parse(last);
    } catch {
      result = {
        bench: f,
        rows: [],
        error: `the benchmark process ended (status ${child.status}, signal ${child.signal}) without a result`,
      };
    }
    results.push(result);
    if (result.error) process.stderr.write(`bench ${f} failed: ${result.error.split('\n')[0]}\n`);
    process.stderr.write(`bench ${f} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }

  const machine = {
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    mysql: safe(() => execSync("mysql -N -h127.0.0.1 -uhotline -photline -e 'select version()' 2>/dev/null").toString().trim()),
    redis: safe(() => execSync('redis-cli INFO server 2>/dev/null | grep redis_version').toString().trim().split(':')[1]),
    date: new Date().toISOString(),
  };
  const table = render(results);
  process.stdout.write(
    `\nMachine: ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}, MariaDB ${machine.mysql}, Redis ${machine.redis}\n\n${table}\n`,
  );
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'latest.json'), JSON.stringify({ machine, results }, null, 2) + '\n');
  const failed = results.some((r) => r.error);
  process.exit(failed ? 1 : 0);
}

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return 'unknown';
  }
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}

export function render(results: { bench: string; rows: BenchRow[]; error?: string }[]): string {
  const lines = [['benchmark', 'measured', 'floor (same run)', 'ratio', 'target', 'ok']];
  for (const r of results) {
    if (r.error) lines.push([r.bench, 'ERROR', r.error.split('\n')[0].slice(0, 60), '', '', 'no']);
    for (const row of r.rows) {
      lines.push([
        row.name,
        `${fmt(row.value)} ${row.unit}`,
        row.floor ? `${row.floor.name}: ${fmt(row.floor.value)} ${row.floor.unit}` : '',
        row.ratio !== undefined ? fmt(row.ratio) : '',
        row.target ?? '',
        row.pass === undefined ? '' : row.pass ? 'yes' : 'NO',
      ]);
    }
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const row = (l: string[]) => `| ${l.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [row(lines[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.slice(1).map(row)].join('\n');
}

if (require.main === module)
  main().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
