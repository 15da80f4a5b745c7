import { CallbackBook } from '@hotline/calls/records';
import { withTimeout } from '@hotline/observability';
import { GatewayRecords } from '../calls/gateway-records';

/** How long a callback's write may wait on MySQL inside a webhook before it is given up. */
export const CALLBACK_MYSQL_MS = 1500;

/** Runs `work` on the callbacks of the record (libs/calls CallbackBook), bounded so that the webhook still answers in time. */
export function withCallbackBook<T>(repos: GatewayRecords, work: (b: CallbackBook) => Promise<T>): Promise<T> {
  return withTimeout(repos.callbacks().then(work), CALLBACK_MYSQL_MS);
}
