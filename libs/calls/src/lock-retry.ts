import { DataSource, EntityManager } from 'typeorm';

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/**
 * Runs `work` again (up to four times in all, after a short random pause) when MariaDB chose it as a
 * deadlock's victim or it waited too long for a lock: writers that lock the same calls in different
 * index orders (the worker's scan by end time, secure deletion and counting by id) may meet, and the
 * one rolled back has changed nothing. `work` must be one statement or one transaction.
 */
export async function againOnLockConflict<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (attempt >= 4 || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

/** `work` in one transaction, tried again on a lock conflict (againOnLockConflict). */
export function retriedTransaction<T>(ds: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return againOnLockConflict(() => ds.transaction(work));
}
