import { CallbackBook } from '@hotline/calls/records';
import { withTimeout } from '@hotline/observability';
import { RecordsDb } from '../records-db';

/** How long a callback's write may wait on MySQL inside a webhook before it is given up. */
export const CALLBACK_MYSQL_MS = 1500;

/** Runs `work` on the callbacks of the record (libs/calls CallbackBook), bounded so that the webhook still answers in time. */
export function withCallbackBook<T>(db: RecordsDb, work: (b: CallbackBook) => Promise<T>): Promise<T> {
  return withTimeout(
    db.get().then((ds) => work(new CallbackBook(ds))),
    CALLBACK_MYSQL_MS,
  );
}
