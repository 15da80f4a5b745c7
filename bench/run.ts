/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) BENCH_RUNS
 * times (default 3), each run in a Node process of its own on freshly migrated databases, at the
 * production log level (`info`). Prints one table of medians with their spread (min–max) and writes
 * bench/results/latest.json (every run's figures, the medians, the machine; partial.json when only
 * some benchmarks were named). Exits 1 when a
 * benchmark failed or a target is missed by the median, and names them.
 * Benchmarks use their own databases (`hotline_bench`, `hotline_keys_bench`) and Redis db 14,
 * recreated before each run.
 */
import { execSync, spawn } from 'child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'fs';
import os from 'os';
import { join } from 'path';
import { Bench, BenchRow } from './types';

process.env.HOTLINE_TEST_ID ??= 'bench';
process.env.HOTLINE_TEST_REDIS_DB ??= '14';
// What production runs at: each request's access line, each job's lines are written and scrubbed.
process.env.LOG_LEVEL = 'info';
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3) || 3);

interface ChildResult {
  bench: string;
  rows: BenchRow[];
  error?: string;
}

/** One table row: the median of the runs, with every run's figure. */
export interface MedianRow extends BenchRow {
  runs: { value: number[]; ratio?: number[]; floor?: number[] };
  min: number;
  max: number;
  ratioMin?: number;
  ratioMax?: number;
}

export interface BenchResult {
  bench: string;
  rows: MedianRow[];
  /** The errors of runs that failed (a failed run counts as a miss). */
  errors: string[];
  seconds: number[];
}

async function main() {
  const { testEnvVars } = await import('../test/support/test-config');
  for (const [k, v] of Object.entries(testEnvVars())) process.env[k] = v;

  // A child run: one benchmark, its result as JSON on the last line of stdout.
  const childIndex = process.argv.indexOf('--child');
  if (childIndex >= 0) {
    const f = process.argv[childIndex + 1];
    // Each run starts on freshly migrated, empty databases and an empty Redis database: what one
    // leaves behind (say, 200 MB of notes) must not slow the next.
    (globalThis as any).__hotlineSetupDone = false;
    await (await import('../test/support/global-setup')).default();
    let out: ChildResult;
    try {
      const mod = await import(join(__dirname, f));
      out = { bench: f, rows: await (mod.default as Bench)() };
    } catch (e) {
      out = { bench: f, rows: [], error: (e as Error).stack ?? String(e) };
    }
    process.stdout.write('\n' + JSON.stringify(out) + '\n', () => process.exit(0));
    return;
  }

  const only = process.argv.slice(2);
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => !only.length || only.some((o) => f.includes(o)))
    .sort();
  const machine = {
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    mysql: safe(() => execSync("mysql -N -h127.0.0.1 -uhotline -photline -e 'select version()' 2>/dev/null").toString().trim()),
    redis: safe(() => execSync('redis-cli INFO server 2>/dev/null | grep redis_version').toString().trim().split(':')[1]),
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    logLevel: process.env.LOG_LEVEL,
    runs: RUNS,
    date: new Date().toISOString(),
  };
  const results: BenchResult[] = [];
  // A run of some benchmarks only (`npm run bench -- purge`) does not overwrite the full run's figures.
  const resultFile = join(__dirname, 'results', only.length ? 'partial.json' : 'latest.json');
  const save = () => {
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(resultFile, JSON.stringify({ machine, results }, null, 2) + '\n');
  };
  for (const f of files) {
    const runs: ChildResult[] = [];
    const seconds: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      process.stderr.write(`bench ${f} run ${i} of ${RUNS} ...\n`);
      const started = Date.now();
      const result = await runChild(f);
      runs.push(result);
      seconds.push(Math.round((Date.now() - started) / 100) / 10);
      if (result.error) process.stderr.write(`bench ${f} run ${i} failed: ${result.error.split('\n')[0]}\n`);
      process.stderr.write(`bench ${f} run ${i} done in ${seconds[i - 1]} s\n`);
    }
    results.push(medians(f, runs, seconds));
    save();
  }
  machine.date = new Date().toISOString();
  save();

  process.stdout.write(
    `\nMachine: ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}, MariaDB ${machine.mysql}, Redis ${machine.redis}; ` +
      `log level ${machine.logLevel}; median of ${RUNS} runs (min–max)\n\n${render(results)}\n`,
  );
  const misses = missed(results);
  if (misses.length) {
    process.stdout.write(`\nMissed (${misses.length}):\n${misses.map((m) => `- ${m}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('\nEvery target met.\n');
  process.exit(0);
}

/**
 * Runs one benchmark in a Node process of its own (timers, sockets and heap left by one cannot slow
 * the next). Its stdout (where the apps' log lines go at `info`) is read as a stream and dropped but
 * for the result line: the last line that starts {"bench":.
 */
function runChild(f: string): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', './scripts/register.js', __filename, '--child', f], {
      cwd: join(__dirname, '..'),
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let partial = '';
    let last = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l.startsWith('{"bench":')) last = l;
    });
    child.on('close', (status, signal) => {
      if (partial.startsWith('{"bench":')) last = partial;
      try {
        resolve(JSON.parse(last));
      } catch {
        resolve({ bench: f, rows: [], error: `the benchmark process ended (status ${status}, signal ${signal}) without a result` });
      }
    });
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function meets(goal: NonNullable<BenchRow['goal']>, figure: number | undefined): boolean {
  if (figure === undefined || !Number.isFinite(figure)) return false;
  if (goal.atLeast !== undefined && !(figure >= goal.atLeast)) return false;
  if (goal.below !== undefined && !(figure < goal.below)) return false;
  return true;
}

/** The runs of one benchmark as one result: each row (by name) at its median. */
export function medians(bench: string, runs: ChildResult[], seconds: number[]): BenchResult {
  const names: string[] = [];
  for (const r of runs) for (const row of r.rows) if (!names.includes(row.name)) names.push(row.name);
  const rows = names.map((name): MedianRow => {
    const all = runs.flatMap((r) => r.rows.filter((row) => row.name === name));
    const first = all[0];
    const values = all.map((r) => r.value);
    const ratios = all.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio]));
    const floors = all.flatMap((r) => (r.floor ? [r.floor.value] : []));
    const value = median(values);
    const ratio = ratios.length ? median(ratios) : undefined;
    // The target is judged on the median; a row without a goal passes only if every run passed.
    const pass = first.goal
      ? meets(first.goal, first.goal.on === 'ratio' ? ratio : value)
      : first.pass === undefined
        ? undefined
        : all.every((r) => r.pass);
    return {
      ...first,
      value,
      floor: first.floor && { ...first.floor, value: median(floors) },
      ratio,
      pass: all.length < runs.length && pass !== undefined ? false : pass,
      notes: all.map((r) => r.notes).filter(Boolean)[Math.floor(all.length / 2)] ?? first.notes,
      runs: { value: values, ...(ratios.length ? { ratio: ratios } : {}), ...(floors.length ? { floor: floors } : {}) },
      min: Math.min(...values),
      max: Math.max(...values),
      ...(ratios.length ? { ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios) } : {}),
    };
  });
  return { bench, rows, errors: runs.flatMap((r) => (r.error ? [r.error] : [])), seconds };
}

/** What missed: failed runs and targets the median did not meet. */
export function missed(results: BenchResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (r.errors.length)
      out.push(`${r.bench}: ${r.errors.length} of ${r.seconds.length} runs failed (${r.errors[0].split('\n')[0].slice(0, 160)})`);
    for (const row of r.rows)
      if (row.pass === false) {
        const figure = row.goal?.on === 'ratio' ? `ratio ${fmt(row.ratio ?? NaN)}` : `${fmt(row.value)} ${row.unit}`;
        out.push(`${row.name}: ${figure} (median), target ${row.target}`);
      }
  }
  return out;
}

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return 'unknown';
  }
}

export function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(3);
}

export function render(results: BenchResult[]): string {
  const lines = [['benchmark', 'median (min–max)', 'floor (same run, median)', 'ratio (min–max)', 'target', 'ok']];
  for (const r of results) {
    if (r.errors.length)
      lines.push([
        r.bench,
        `ERROR in ${r.errors.length} of ${r.seconds.length} runs`,
        r.errors[0].split('\n')[0].slice(0, 60),
        '',
        '',
        'no',
      ]);
    for (const row of r.rows) {
      const spread = row.runs.value.length > 1 ? ` (${fmt(row.min)}–${fmt(row.max)})` : '';
      const ratioSpread =
        row.ratioMin !== undefined && (row.runs.ratio?.length ?? 0) > 1 ? ` (${fmt(row.ratioMin)}–${fmt(row.ratioMax!)})` : '';
      lines.push([
        row.name,
        `${fmt(row.value)} ${row.unit}${spread}`,
        row.floor ? `${row.floor.name}: ${fmt(row.floor.value)} ${row.floor.unit}` : '',
        row.ratio !== undefined ? `${fmt(row.ratio)}${ratioSpread}` : '',
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
