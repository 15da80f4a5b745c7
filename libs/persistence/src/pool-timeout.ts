import { ServiceUnavailableException } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** No pooled connection came free in time: answered 503 (try again), never a request that hangs. */
export class PoolExhaustedError extends ServiceUnavailableException {
  constructor(ms: number) {
    super({
      message: `the database is busy (no connection free within ${ms} ms); try again shortly`,
      retryAfterSeconds: 2,
      headers: { 'Retry-After': '2' },
    });
    this.name = 'PoolExhaustedError';
  }
}

/**
 * mysql2's pool waits for a free connection for ever. When every connection is held (by requests
 * waiting on row locks, say), new requests, sign-in included, would queue without end: the
 * service looks dead. Here a connection that does not come within `ms` fails the query with
 * PoolExhaustedError (503); if it comes later it goes straight back to the pool.
 */
export function withPoolAcquireTimeout<T extends DataSource>(ds: T, ms: number): T {
  const driver = ds.driver as unknown as { obtainMasterConnection?: () => Promise<{ release(): void }> };
  const original = driver.obtainMasterConnection?.bind(driver);
  if (!original) return ds;
  driver.obtainMasterConnection = () =>
    new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new PoolExhaustedError(ms));
      }, ms);
      original().then(
        (connection) => {
          clearTimeout(timer);
          if (late) connection.release();
          else resolve(connection);
        },
        (e: unknown) => {
          clearTimeout(timer);
          if (!late) reject(e);
        },
      );
    });
  return ds;
}
