import { AppName, freePort, startAppProcess, waitForHttp } from '../support/app-process';
import { TcpProxy } from '../support/tcp-proxy';
import { TEST_DATABASE_URL, TEST_KEYSTORE_URL, TEST_REDIS_URL } from '../support/test-config';

/**
 * An orchestrator stops an app (SIGTERM) while MySQL and Redis are away, refused or hanging. Each
 * app must exit within 10 s (it gets SIGKILLed otherwise, and a deploy or failover waits on it):
 * its drains may wait for the databases, but not for ever.
 */
const WITHIN_MS = 10_000;
const PORT_VARIABLE: Record<AppName, string> = { gateway: 'GATEWAY_PORT', records: 'RECORDS_PORT', worker: 'WORKER_PORT' };

describe.each(['cut', 'blackhole'] as const)('SIGTERM while MySQL and Redis are %s', (fault) => {
  let mysql: TcpProxy;
  let redis: TcpProxy;

  beforeEach(async () => {
    mysql = await TcpProxy.forUrl(TEST_DATABASE_URL);
    redis = await TcpProxy.forUrl(TEST_REDIS_URL);
  });

  afterEach(async () => {
    await mysql.close();
    await redis.close();
  });

  it.each(['gateway', 'records', 'worker'] as const)(
    'the %s exits within 10 s',
    async (app) => {
      const port = await freePort();
      const p = startAppProcess(app, {
        [PORT_VARIABLE[app]]: String(port),
        DATABASE_URL: mysql.rewrite(TEST_DATABASE_URL),
        KEYSTORE_URL: mysql.rewrite(TEST_KEYSTORE_URL),
        REDIS_URL: redis.rewrite(TEST_REDIS_URL),
        PUBLIC_URL: 'https://hotline.example.test',
      });
      try {
        await waitForHttp(`http://127.0.0.1:${port}/health`, p, 60_000);
        if (fault === 'cut') {
          mysql.cut();
          redis.cut();
        } else {
          mysql.blackhole();
          redis.blackhole();
        }
        await new Promise((r) => setTimeout(r, 1000));
        p.child.kill('SIGTERM');
        const exited = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), WITHIN_MS))]);
        expect({ app, fault, exited }).toEqual({ app, fault, exited: true });
      } finally {
        await p.stop('SIGKILL');
      }
    },
    90_000,
  );
});
