import { Clock } from '@hotline/clock';

/**
 * A clock a test moves instead of sleeping. By default it runs with real time plus whatever the
 * test has added (`advance`), so everything keeps its order and timers still fire; `freeze()` stops it.
 */
export class FakeClock extends Clock {
  private offsetMs = 0;
  private frozenAt: number | null = null;

  constructor(start?: Date) {
    super();
    if (start) this.set(start);
  }

  nowMs(): number {
    return (this.frozenAt ?? Date.now()) + this.offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Moves time forward (or back, with a negative amount). */
  advance(ms: number): this {
    this.offsetMs += ms;
    return this;
  }

  /** Sets the time; a running clock goes on from there. */
  set(at: Date): this {
    this.offsetMs += at.getTime() - this.nowMs();
    return this;
  }

  /** Stops time where it is (until the next `advance` or `set`). */
  freeze(): this {
    const now = this.nowMs();
    this.frozenAt = now;
    this.offsetMs = 0;
    return this;
  }
}
