import { TokenBucket } from './socket-limits';

describe('TokenBucket', () => {
  it('gives its size at once, then tokens at its rate, never more than its size', () => {
    let now = 0;
    const bucket = new TokenBucket(20, 40, () => now);
    const takes = (n: number) => Array.from({ length: n }, () => bucket.take()).filter(Boolean).length;
    expect(takes(50)).toBe(40);
    now += 500; // half a second: ten tokens
    expect(takes(20)).toBe(10);
    now += 60_000; // a long pause fills it, no further
    expect(takes(100)).toBe(40);
    now += 49; // less than a token
    expect(bucket.take()).toBe(false);
    now += 1;
    expect(bucket.take()).toBe(true);
  });
});
