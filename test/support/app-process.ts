import { ChildProcess, spawn } from 'child_process';
import { AddressInfo, createServer } from 'net';
import { join } from 'path';
import { testEnvVars, withAppAccount } from './test-config';

const ROOT = join(__dirname, '..', '..');

export type AppName = 'gateway' | 'records' | 'worker';

export interface AppProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
  /** Sends the signal and waits for the process to be gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * One app as its own process, started the way `npm run start:<app>` does, with the test databases
 * and secrets, as its own database account and Redis user (and LOG_CAPTURE_FILE: its log lines join the run's capture). For faults a test
 * cannot make in-process: SIGKILL, a restart on the same port.
 */
export function startAppProcess(app: AppName, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, ['-r', './scripts/register.js', `apps/${app}/src/main.ts`], {
    cwd: ROOT,
    env: withAppAccount(
      { ...process.env, ...testEnvVars(), GATEWAY_PORT: '0', RECORDS_PORT: '0', WORKER_PORT: '0', LOG_LEVEL: 'warn', ...env },
      app,
    ),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A TCP port free right now on loopback (for a process that must come back on the same port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Waits until something answers HTTP at `url` (any status: a 503 health still means it is up). */
export async function waitForHttp(url: string, p?: AppProcess, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (p && (p.child.exitCode !== null || p.child.signalCode !== null))
        throw new Error(`the process exited before answering: ${p.output().slice(-2000)}`);
      if (Date.now() > until)
        throw new Error(`nothing answered at ${url} within ${timeoutMs} ms${p ? `: ${p.output().slice(-2000)}` : ''}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
