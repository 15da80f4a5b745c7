import { execFile } from 'child_process';
import { join } from 'path';
import { promisify } from 'util';
import { testEnvVars } from './test-config';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** `npm run cli -- <args>` as a user runs it (same entry point), against the test databases. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['-r', './scripts/register.js', 'apps/cli/src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...testEnvVars(), LOG_LEVEL: 'warn', ...env },
      timeout: 60_000,
    });
    return { code: 0, out: stdout };
  } catch (e: any) {
    if (typeof e.code !== 'number') throw e;
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}
