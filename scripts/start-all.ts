/**
 * `npm start`: the three apps as child processes (the npm script has run the migrations already).
 * Their output is prefixed with their name; SIGINT and SIGTERM are passed on so that each drains
 * (Nest shutdown hooks); if one app dies, the others are stopped and this exits non-zero.
 */
import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { createInterface } from 'readline';
import {
  DEFAULTS,
  GATEWAY_MUST_NOT_HOLD,
  RECORDS_MUST_NOT_HOLD,
  REDIS_USER_VARS,
  WORKER_MUST_NOT_HOLD,
  asRedisUser,
} from '@hotline/config';
import { DB_ACCOUNT_VARS, dbUrlsOfApp } from './db-accounts';

export type AppName = 'records' | 'gateway' | 'worker';
export const APPS: AppName[] = ['records', 'gateway', 'worker'];
const ROOT = join(__dirname, '..');
const COLOURS: Record<AppName, string> = { records: '\x1b[35m', gateway: '\x1b[36m', worker: '\x1b[33m' };
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

const MUST_NOT_HOLD: Record<AppName, string[]> = {
  gateway: GATEWAY_MUST_NOT_HOLD,
  records: RECORDS_MUST_NOT_HOLD,
  worker: WORKER_MUST_NOT_HOLD,
};

/**
 * One app's environment: everything given, less the other apps' secrets, and its own database account
 * instead of the migrator's (least privilege, as in docker/compose.yml): `<APP>_DATABASE_URL` and
 * `<APP>_KEYSTORE_URL` when set, or else DATABASE_URL and KEYSTORE_URL with the app's account
 * (scripts/db-accounts.ts; its password from `<APP>_DB_PASSWORD`). The gateway gets no KEYSTORE_URL.
 * Likewise its own Redis ACL user: `<APP>_REDIS_URL` when set, or else REDIS_URL's server and database
 * as `hotline-<app>` (libs/config/src/redis-acl.ts; its password from `REDIS_<APP>_PASSWORD`).
 */
export function envOfApp(name: AppName, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = { ...env };
  for (const k of MUST_NOT_HOLD[name]) delete own[k];
  const urls = dbUrlsOfApp(name, env, { DATABASE_URL: DEFAULTS.DATABASE_URL, KEYSTORE_URL: DEFAULTS.KEYSTORE_URL });
  for (const k of DB_ACCOUNT_VARS) delete own[k];
  delete own.KEYSTORE_URL;
  const REDIS_URL = env[`${name.toUpperCase()}_REDIS_URL`] || asRedisUser(env.REDIS_URL || DEFAULTS.REDIS_URL, name, env);
  for (const k of [...REDIS_USER_VARS, 'REDIS_ADMIN_PASSWORD']) delete own[k];
  return { ...own, ...urls, REDIS_URL };
}

export interface AppExit {
  name: AppName;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface AppGroupOptions {
  env?: NodeJS.ProcessEnv;
  /** Turn pino's JSON lines into short readable ones (the demo); `npm start` keeps JSON for log shippers. */
  pretty?: boolean;
  write?: (line: string) => void;
}

export class AppGroup {
  readonly children = new Map<AppName, ChildProcess>();
  /** Settles with the first app that exits while the group is not being stopped. */
  readonly died: Promise<AppExit>;
  private stopping = false;
  private reportDeath!: (exit: AppExit) => void;
  private readonly write: (line: string) => void;
  private readonly colour = Boolean(process.stdout.isTTY);

  constructor(private readonly options: AppGroupOptions = {}) {
    this.write = options.write ?? ((line) => process.stdout.write(line + '\n'));
    this.died = new Promise((resolve) => (this.reportDeath = resolve));
  }

  start(apps: AppName[] = APPS): this {
    for (const name of apps) {
      // Each app gets its own process group, so that a terminal's Ctrl-C reaches this supervisor
      // only and each app is signalled once, here, rather than twice mid-shutdown.
      const child = spawn(process.execPath, ['-r', './scripts/register.js', `apps/${name}/src/main.ts`], {
        cwd: ROOT,
        env: envOfApp(name, this.options.env ?? process.env),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      this.children.set(name, child);
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on('line', (line) =>
          this.write(this.prefix(name) + (this.options.pretty ? prettyLine(line) : line)),
        );
      }
      child.on('exit', (code, signal) => {
        this.children.delete(name);
        if (!this.stopping) this.reportDeath({ name, code, signal });
      });
    }
    return this;
  }

  /** Signals every app, waits for them to drain, and kills what is still running after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const running = [...this.children.values()];
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill(signal);
          }),
      ),
    );
  }

  /** Last resort when this process itself is exiting: no app is left running behind it. */
  killNow(): void {
    for (const child of this.children.values()) child.kill('SIGKILL');
  }

  private prefix(name: AppName): string {
    const label = `[${name}]`.padEnd(10);
    return this.colour ? `${COLOURS[name]}${label}\x1b[0m ` : `${label} `;
  }
}

/** `{"level":40,"time":"…","context":"X","msg":"…"}` → `08:01:02 WARN  X: …`; anything else as it is. */
export function prettyLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line);
    const time = typeof o.time === 'string' ? o.time.slice(11, 19) : new Date(o.time ?? Date.now()).toISOString().slice(11, 19);
    const where = o.context ? `${o.context}: ` : '';
    const req = o.req ? ` (${o.req.method} ${o.req.url}${o.res ? ` → ${o.res.statusCode}` : ''})` : '';
    return `${time} ${LEVELS[o.level] ?? o.level} ${where}${o.msg ?? ''}${req}`;
  } catch {
    return line;
  }
}

/** Runs the group until a signal or a death; shared by `npm start` and `npm run demo`. */
export function superviseUntilExit(
  group: AppGroup,
  cleanup: () => Promise<void> = async () => undefined,
  say = (m: string) => process.stderr.write(m + '\n'),
): void {
  let shuttingDown = false;
  const shutdown = async (why: string, code: number, signal: NodeJS.Signals = 'SIGTERM') => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(why);
    await cleanup().catch(() => undefined);
    await group.stop(signal);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (shuttingDown) {
        say('stopping at once');
        group.killNow();
        process.exit(130);
      }
      void shutdown(`${signal}: stopping the apps (again to force)`, 0, 'SIGTERM');
    });
  }
  process.on('exit', () => group.killNow());
  void group.died.then(({ name, code, signal }) => shutdown(`${name} exited (${signal ?? `code ${code}`}); stopping the others`, 1));
}

if (require.main === module) {
  const group = new AppGroup().start();
  superviseUntilExit(group, undefined, (m) => process.stderr.write(`[start] ${m}\n`));
}
