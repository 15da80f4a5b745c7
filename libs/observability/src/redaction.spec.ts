import { Writable } from 'stream';
import fc from 'fast-check';
import pino from 'pino';
import { pinoOptions } from './logger';
import { loggedPath, scrubString } from './redaction';

function capture(): { logger: pino.Logger; lines: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(c, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return { logger: pino(pinoOptions('test', 'info'), sink), lines: () => chunks.join('') };
}

describe('log redaction', () => {
  it('removes numbers, note text, codes, tokens and names by configuration', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        From: '+447700900123',
        text: 'I feel unsafe at home',
        code: '123456',
        token: 'eyJhbGciOi',
        displayName: 'Alex Doe',
        callId: '8b0d6c2e-8f0e-4a8e-9d7b-3b1a2f0e4c11',
      },
      'incoming',
    );
    logger.info({ nested: { To: '+15551234567', note: 'secret words', password: 'hunter2hunter2' } }, 'nested');
    const out = lines();
    for (const leaked of ['447700900123', 'unsafe at home', '123456', 'eyJhbGciOi', 'Alex Doe', '15551234567', 'secret words', 'hunter2']) {
      expect(out).not.toContain(leaked);
    }
    expect(out).toContain('8b0d6c2e-8f0e-4a8e-9d7b-3b1a2f0e4c11');
  });

  it('scrubs a number interpolated into a message or an unexpected field', () => {
    const { logger, lines } = capture();
    logger.info(`caller +44 7700 900123 waiting`);
    logger.warn({ misc: 'call back on 07700900123 please' }, 'oops');
    const out = lines();
    expect(out).not.toMatch(/7700\s?900123/);
    expect(out).toContain('[redacted-number]');
  });

  it("scrubs an Error's message and stack, keeping its type and a symbolic code", () => {
    const { logger, lines } = capture();
    const e = Object.assign(new Error('no route to +447700900123'), { code: 'ECONNREFUSED', port: 3306 });
    logger.error(e);
    logger.error({ err: Object.assign(new TypeError('code 482913 wrong'), { code: '482913' }) }, 'verification failed');
    const [alone, wrapped] = lines()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(alone.msg).toBe('no route to [redacted-number]');
    expect(alone.err).toMatchObject({ type: 'Error', message: 'no route to [redacted-number]', errorCode: 'ECONNREFUSED', port: 3306 });
    expect(alone.err.stack).toMatch(/^Error: no route to \[redacted-number\]\n\s+at /);
    expect(wrapped.err).toMatchObject({ type: 'TypeError', message: 'code [redacted-number] wrong' });
    expect(wrapped.err).not.toHaveProperty('errorCode');
    expect(lines()).not.toMatch(/447700900123|482913/);
  });

  it('scrubs a number in a logged request path, and cuts a long one', () => {
    expect(loggedPath('/twilio/voice/+447700900123/status?From=%2B447700900123')).toBe('/twilio/voice/[redacted-number]/status');
    expect(loggedPath('/twilio/' + '.1-'.repeat(5300))).toBe('/twilio/…[cut 15900 chars]');
  });

  it('leaves short numbers and ids alone', () => {
    expect(scrubString('waited 42 s, 3 operators')).toBe('waited 42 s, 3 operators');
    const id = 'job secure-delete.cc217659-cfd4-4be2-91a0-a91f84e6daa2 and CA0123456789abcdef0123456789abcdef';
    expect(scrubString(id)).toBe(id);
  });
});

describe('log scrubbing in linear time', () => {
  // The pattern the scanner replaced, widened by one character so that a bare six-digit code counts:
  // same verdicts on every input that fits, without the backtracking.
  const OLD = /(?<![\w-])\+?\d[\d\s().-]{4,}\d(?![\w-])/g;
  const oldScrub = (s: string) => s.replace(OLD, (m) => (m.replace(/\D/g, '').length >= 6 ? '[redacted-number]' : m));

  it('redacts exactly what the (widened) old pattern redacted (random strings of digits, separators and letters)', () => {
    const alphabet = ['0', '1', '7', '9', ' ', '.', '-', '(', ')', '+', 'a', 'Z', '_', '/', '=', ','];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }), (chars) => {
        const s = chars.join('');
        expect(scrubString(s)).toBe(oldScrub(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('handles the adversarial corpus: redacts what is a number, leaves the rest, reads no more than it keeps', () => {
    const corpus = [
      '.1-'.repeat(5300),
      '1-'.repeat(8000),
      '1 '.repeat(8000) + 'x',
      '(' + '1'.repeat(16000) + '-',
      '+1'.repeat(8000),
      '/twilio/' + '.1-'.repeat(5300),
    ];
    for (const s of corpus) {
      const out = scrubString(s);
      expect(out.length).toBeLessThan(2200);
      expect(out).toMatch(/…\[cut \d+ chars\]$/);
      expect(out).not.toMatch(/\d{6,}/);
    }
    expect(scrubString('(' + '1'.repeat(100) + ')')).toBe('([redacted-number])');
  });

  it('leaves ids that merely contain long digit runs (BullMQ repeat ids), but not numbers after tel:', () => {
    expect(scrubString('job repeat:retention-scan:1764000000000 done')).toBe('job repeat:retention-scan:1764000000000 done');
    expect(scrubString('dial tel:+447700900123 now')).toBe('dial tel:[redacted-number] now');
    expect(scrubString('caller: 07700 900123')).toBe('caller: [redacted-number]');
  });
});
