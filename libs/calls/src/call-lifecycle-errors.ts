/** The event needs the call row, which is not there yet (its opening is still on its way): retry later. */
export class CallRowMissing extends Error {
  constructor(ref: string, why = 'is not in the records database yet') {
    super(`call ${ref} ${why}`);
    this.name = 'CallRowMissing';
  }
}

/**
 * A write that needs an earlier one first (a wrap-up before its call was recorded as answered, as
 * can happen when both were queued while MySQL was away): thrown so the queued write is retried
 * until the earlier one has landed, never dropped. The gateway's replay treats it as it treats
 * CallRowMissing.
 */
export class CallEventTooEarly extends CallRowMissing {
  constructor(callId: string, waitingFor: string) {
    super(callId, `is not ${waitingFor} yet in the records database`);
    this.name = 'CallEventTooEarly';
  }
}
