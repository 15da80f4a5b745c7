import { createHash } from 'crypto';
import { join } from 'path';
import { build } from 'esbuild';

/** The console's sources (apps/console): a browser app of its own, bundled and served by the gateway. */
export const CONSOLE_DIR = join(__dirname, '..', '..', '..', 'console');

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  /** Content hash, used as the cache-busting query and the ETag. */
  hash: string;
}

export interface ConsoleBundle {
  'app.js': ConsoleAsset;
  'app.css': ConsoleAsset;
}

let built: Promise<ConsoleBundle> | undefined;

/** The bundle, built once per process (tests start many gateways; the sources do not change under them). */
export function consoleBundle(): Promise<ConsoleBundle> {
  built ??= buildConsoleBundle().catch((e) => {
    built = undefined;
    throw e;
  });
  return built;
}

/**
 * Bundles the console page (Preact + socket.io-client + @hotline/contract, which esbuild resolves
 * through the console tsconfig's `paths`) in memory, so that `npm start` and `npm run demo` serve it
 * with no build step. esbuild does not type-check: the console's own tsconfig does (see
 * console-bundle.spec.ts).
 *
 * `swap` replaces packages by other modules at build time (esbuild's `alias`): the browser tests
 * build the same sources with a stand-in for the Voice SDK (test/browser/support/fake-voice-sdk.js).
 * The gateway passes none.
 */
export async function buildConsoleBundle(swap: Record<string, string> = {}): Promise<ConsoleBundle> {
  const result = await build({
    entryPoints: { app: join(CONSOLE_DIR, 'src', 'main.tsx'), styles: join(CONSOLE_DIR, 'src', 'styles.css') },
    alias: swap,
    tsconfig: join(CONSOLE_DIR, 'tsconfig.json'),
    bundle: true,
    write: false,
    outdir: join(CONSOLE_DIR, 'dist'),
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const find = (suffix: string) => {
    const file = result.outputFiles.find((f) => f.path.endsWith(suffix));
    if (!file) throw new Error(`console bundle has no ${suffix}`);
    return Buffer.from(file.contents);
  };
  const asset = (body: Buffer, contentType: string): ConsoleAsset => ({
    body,
    contentType,
    hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
  });
  return {
    'app.js': asset(find('app.js'), 'text/javascript; charset=utf-8'),
    'app.css': asset(find('styles.css'), 'text/css; charset=utf-8'),
  };
}
