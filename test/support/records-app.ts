import { INestApplication } from '@nestjs/common';
import type { HotlineConfigOptions } from '@hotline/config';
import { createRecordsApp } from '../../apps/records/src/bootstrap';
import { envFor } from './env-for';
import { withAppRedisUser } from './test-config';
import { Factory } from './factories';
import { baseUrlOf } from './webhooks';

/** A records app on this run's test databases, with a Factory for test data and HTTP. */
export interface RecordsTestApp {
  readonly app: INestApplication;
  /** Staff, calls and requests through the app (see Factory). */
  readonly f: Factory;
  /** `http://127.0.0.1:<port>`, when started with `listen`. */
  readonly url: string;
  close(): Promise<void>;
}

export interface RecordsAppOptions extends HotlineConfigOptions {
  /** Listen on a free loopback port (for a gateway or a browser to reach it); otherwise only initialised (supertest). */
  listen?: boolean;
}

/**
 * Creates and starts a records app with `envFor(env)`. The caller closes it. It connects to MySQL as
 * the migrator, not as `hotline_records`: tests reach past it through `f.db` (its data source) to make
 * what no app may (a tampered audit row, a destroyed key); the records account's grants are tried in
 * test/security/db-privileges.e2e-spec.ts and by every app started as a process (startAppProcess).
 * To Redis it connects as its own user, `hotline-records`, as it runs for real (tests reach Redis with
 * their own connection).
 */
export async function startRecordsApp(env: Record<string, string> = {}, opts: RecordsAppOptions = {}): Promise<RecordsTestApp> {
  const { listen: _listen, ...appOptions } = opts;
  const app = await createRecordsApp(withAppRedisUser(envFor(env), 'records'), appOptions);
  if (opts.listen) await app.listen(0, '127.0.0.1');
  else await app.init();
  const url = opts.listen ? baseUrlOf(app) : '';
  return { app, f: new Factory(app), url, close: () => app.close() };
}

/**
 * One records app for the enclosing `describe`: started in a beforeAll, closed in an afterAll.
 * Call it before the describe's own hooks, which then find it started (jest runs hooks in the order
 * they are registered). `app`, `url` and `f`'s data are there from the first hook on; `f` itself can
 * be taken at once: `const { f } = withRecordsApp();`.
 */
export function withRecordsApp(env: Record<string, string> = {}, opts: RecordsAppOptions = {}): RecordsTestApp {
  let started: RecordsTestApp | undefined;
  const current = (): RecordsTestApp => {
    if (!started) throw new Error('the records app is not started yet: use it from a hook or a test, after withRecordsApp()');
    return started;
  };
  beforeAll(async () => {
    started = await startRecordsApp(env, opts);
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  return {
    get app() {
      return current().app;
    },
    f: new Factory(() => current().app),
    get url() {
      return current().url;
    },
    close: async () => {
      await started?.close();
      started = undefined;
    },
  };
}
