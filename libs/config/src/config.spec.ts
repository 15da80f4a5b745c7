import { readFileSync } from 'fs';
import { join } from 'path';
import { ConfigurationError, PROJECT_ROOT, loadEnv, loadWording, masterKeys, parseWording } from './index';
import { addDuration, parseDuration, parseRetentionConfig } from './retention-config';

describe('loadEnv', () => {
  it('applies the contract defaults', () => {
    const env = loadEnv([], {});
    expect(env.DATABASE_URL).toBe('mysql://hotline:hotline@127.0.0.1:3306/hotline');
    expect(env.KEYSTORE_URL).toBe('mysql://hotline:hotline@127.0.0.1:3306/hotline_keys');
    expect(env.GATEWAY_PORT).toBe(3000);
    expect(env.OFFER_TIMEOUT_SECONDS).toBe(20);
  });

  it('names a missing secret instead of falling back to a weak default', () => {
    expect(() => loadEnv(['TOKEN_PRIVATE_KEY', 'MASTER_KEY'], {})).toThrow(/TOKEN_PRIVATE_KEY is required[\s\S]*MASTER_KEY is required/);
  });

  it('names a malformed variable', () => {
    try {
      loadEnv([], { GATEWAY_PORT: 'eighty', MASTER_KEY: Buffer.alloc(16).toString('base64'), REDIS_URL: 'http://x' });
      fail('should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigurationError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/GATEWAY_PORT/);
      expect(msg).toMatch(/MASTER_KEY must be base64 of exactly 32 bytes/);
      expect(msg).toMatch(/REDIS_URL/);
    }
  });
});

describe('retention config', () => {
  it('parses ISO 8601 durations and adds them on the calendar', () => {
    expect(parseDuration('P90D').days).toBe(90);
    expect(parseDuration('PT5S').seconds).toBe(5);
    expect(addDuration(new Date('2026-01-31T00:00:00Z'), parseDuration('P1Y')).toISOString()).toBe('2027-01-31T00:00:00.000Z');
    expect(() => parseDuration('90 days')).toThrow(/not an ISO 8601 duration/);
  });

  it('rejects a file with a bad or missing duration, naming it', () => {
    expect(() =>
      parseRetentionConfig('scanEvery: PT1H\npolicies:\n  default: P90D\n  high: soon\nrecordings: P30D\ndeletionGrace: P1D\n'),
    ).toThrow(/policies.high[\s\S]*policies.imminent/);
  });
});

describe('wording file', () => {
  const shipped = () => readFileSync(join(PROJECT_ROOT, 'config', 'wording.yaml'), 'utf8');

  it('accepts the shipped file', () => {
    const w = loadWording(join(PROJECT_ROOT, 'config', 'wording.yaml'));
    expect(w.version).toBeTruthy();
    expect(w.privacy.nothingToCancel).toBeTruthy();
  });

  it('names every missing or empty text', () => {
    const broken = shipped()
      .replace(/^notice:.*\n( {2}.*\n)*/m, '')
      .replace(/^ {2}codeWrong:.*\n/m, '');
    expect(() => parseWording(broken, 'WORDING_FILE (test)')).toThrow(
      /WORDING_FILE \(test\) is invalid[\s\S]*notice: is required[\s\S]*privacy\.codeWrong: is required/,
    );
  });

  it('says when the file is not YAML or cannot be read', () => {
    expect(() => parseWording('version: [unclosed', 'w')).toThrow(/w: not valid YAML/);
    expect(() => loadWording('/nonexistent/wording.yaml')).toThrow(/WORDING_FILE: cannot read \/nonexistent\/wording.yaml/);
  });
});

describe('master keys', () => {
  const key = (n: number) => Buffer.alloc(32, n).toString('base64');

  it('parses MASTER_KEY and MASTER_KEY_OLD once per environment', () => {
    const env = loadEnv([], { MASTER_KEY: key(1), MASTER_KEY_OLD: `${key(2)}, ${key(3)}` });
    const keys = masterKeys(env);
    expect(keys.current.equals(Buffer.alloc(32, 1))).toBe(true);
    expect(keys.old.map((k) => k[0])).toEqual([2, 3]);
    expect(masterKeys(env)).toBe(keys);
  });

  it('refuses a malformed old key at start', () => {
    expect(() => loadEnv([], { MASTER_KEY: key(1), MASTER_KEY_OLD: Buffer.alloc(8).toString('base64') })).toThrow(
      /MASTER_KEY_OLD must be base64 keys of exactly 32 bytes/,
    );
  });
});
