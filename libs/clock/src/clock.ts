/**
 * Where time comes from for decisions about time (offers lapsing, retention deadlines, codes
 * expiring, locks ending). Injected, so that a test moves time instead of sleeping
 * (test/support/fake-clock.ts). Timers (setInterval, setTimeout) still run on real time.
 */
export abstract class Clock {
  abstract now(): Date;
  abstract nowMs(): number;
}

/** The machine's clock: what every app uses. */
export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }

  nowMs(): number {
    return Date.now();
  }
}

/** For code built outside Nest's injector (scripts, plain classes): the default clock. */
export const systemClock: Clock = new SystemClock();
