import type { Socket } from 'socket.io';

/**
 * What one console connection may send. A console sends a handful of events a minute (status,
 * accept, decline, wrap-up); these limits leave room for bursts of clicks and reconnect replays
 * and stop a script from making a gateway node do Redis work in a loop. docs/calls.md "Call handling".
 */
export const SOCKET_LIMITS = {
  /** Events a connection may send per second, sustained (the token bucket's refill rate). */
  eventsPerSecond: 20,
  /** Events a connection may send at once (the bucket's size; it starts full). */
  burst: 40,
  /**
   * A connection that goes on sending past the limit: this many events refused within
   * `floodWindowMs` and it is disconnected.
   */
  floodRefusals: 100,
  floodWindowMs: 10_000,
  /** Console connections one member of staff may hold at once on one gateway node, all namespaces together. */
  connectionsPerMember: 5,
} as const;

/** The ack of an event refused for the rate; the event is not handled. */
export const RATE_LIMITED = { ok: false, error: 'rate_limited' } as const;
/** The connect_error message of a connection over the per-member cap (the part before the colon is the code). */
export const TOO_MANY_CONNECTIONS = `too_many_connections: at most ${SOCKET_LIMITS.connectionsPerMember} console connections per member of staff; close another tab or window`;

/** A token bucket: `take()` is true while tokens are left, which come back at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly perSecond: number,
    private readonly size: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = size;
    this.at = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.size, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Rate-limits the events `socket` sends (every event, known or not, before any handler): past the
 * bucket an event is answered `{ ok: false, error: 'rate_limited' }` (when the client asked for an
 * ack) and dropped; a connection that keeps flooding is disconnected. `onFlood` is told first.
 */
export function limitSocketEvents(socket: Socket, onFlood: () => void, limits = SOCKET_LIMITS, now: () => number = Date.now): void {
  const bucket = new TokenBucket(limits.eventsPerSecond, limits.burst, now);
  let windowStart = 0;
  let refused = 0;
  socket.use((packet, next) => {
    if (bucket.take()) return next();
    const ack = packet[packet.length - 1];
    if (typeof ack === 'function') ack(RATE_LIMITED);
    const t = now();
    if (t - windowStart > limits.floodWindowMs) {
      windowStart = t;
      refused = 0;
    }
    if (++refused >= limits.floodRefusals && socket.connected) {
      onFlood();
      socket.disconnect(true);
    }
    // next() is not called: the event reaches no handler.
  });
}
