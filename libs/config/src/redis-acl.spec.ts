import { createHash } from 'crypto';
import { defaultRedisUserWarning } from './load-env';
import {
  REDIS_USERS,
  RedisAclError,
  asRedisUser,
  isDefaultRedisUser,
  localRedisPasswords,
  redisAclFileLines,
  redisAclRules,
  redisAclSetUserLines,
  requiredRedisPasswords,
  socketIoPatternChannels,
} from './redis-acl';

const passwords = { gateway: 'gw-pass', records: 'rec-pass', worker: 'wk-pass' };
const sha = (p: string) => `#${createHash('sha256').update(p).digest('hex')}`;

describe('Redis ACL rules', () => {
  it('one ACL SETUSER line per app user, reset first, the password as its SHA-256 only', () => {
    const lines = redisAclSetUserLines(passwords);
    expect(lines.map((l) => l.split(' ').slice(0, 4).join(' '))).toEqual([
      'ACL SETUSER hotline-gateway reset',
      'ACL SETUSER hotline-records reset',
      'ACL SETUSER hotline-worker reset',
    ]);
    expect(lines[0]).toContain(` on ${sha('gw-pass')} `);
    for (const p of Object.values(passwords)) expect(lines.join('\n')).not.toContain(p);
    // No token a shell or redis-cli would split or quote.
    for (const l of lines) expect(l).not.toMatch(/["'\\\t]/);
  });

  it('the gateway reads the session markers records writes, and reaches nothing else under hl:{auth}:', () => {
    const rules = redisAclRules('gateway', 'x');
    expect(rules.filter((r) => r.includes('{auth}'))).toEqual([
      '%R~hl:{auth}:ended-session:*',
      '%R~hl:{auth}:sessions-ended-before:*',
      '%R~hl:{auth}:agreed:*',
      '%R~hl:{auth}:locked:*',
      '%R~hl:{auth}:seen:*',
    ]);
    expect(rules).not.toContain('~hl-bull:retention:*');
    expect(redisAclRules('records', 'x')).toContain('~hl:{auth}:*');
    expect(redisAclRules('worker', 'x').some((r) => r.includes('{auth}') || r.includes('{rt}'))).toBe(false);
  });

  it("lists the socket.io adapter's PSUBSCRIBE patterns literally, for every database and namespace", () => {
    const patterns = socketIoPatternChannels();
    expect(patterns).toHaveLength(16 * 3);
    expect(patterns).toContain('socket.io-db0#/operator#*');
    expect(patterns).toContain('socket.io-db15#/supervisor#*');
    expect(redisAclRules('gateway', 'x')).toContain('&socket.io-db3#/#*');
  });

  it('as an ACL file: the default user disabled, or behind the admin password', () => {
    expect(redisAclFileLines(passwords)[0]).toBe('user default reset off');
    expect(redisAclFileLines(passwords, 'adm')[0]).toBe(`user default reset on ${sha('adm')} ~* &* +@all`);
    expect(redisAclFileLines(passwords)[1]).toMatch(/^user hotline-gateway reset on #/);
    expect(() => redisAclFileLines(passwords, 'a b')).toThrow(RedisAclError);
  });

  it('passwords: every variable for the CLI (named when missing), URL-safe characters only', () => {
    expect(() => requiredRedisPasswords({ REDIS_RECORDS_PASSWORD: 'x' })).toThrow(
      'REDIS_GATEWAY_PASSWORD, REDIS_WORKER_PASSWORD are required',
    );
    expect(requiredRedisPasswords({ REDIS_GATEWAY_PASSWORD: 'a', REDIS_RECORDS_PASSWORD: 'b', REDIS_WORKER_PASSWORD: 'c' })).toEqual({
      gateway: 'a',
      records: 'b',
      worker: 'c',
    });
    expect(() => redisAclRules('gateway', 'p@ss word')).toThrow(/REDIS_GATEWAY_PASSWORD may hold letters, digits/);
    expect(localRedisPasswords({})).toEqual({ gateway: 'hotline-gateway', records: 'hotline-records', worker: 'hotline-worker' });
    expect(localRedisPasswords({ REDIS_WORKER_PASSWORD: 'w2' }).worker).toBe('w2');
  });

  it("a URL as an app's user: same server and database", () => {
    expect(asRedisUser('redis://127.0.0.1:6379/4', 'records', {})).toBe('redis://hotline-records:hotline-records@127.0.0.1:6379/4');
    expect(asRedisUser('redis://default:x@h:1/0', 'gateway', { REDIS_GATEWAY_PASSWORD: 's3cret' })).toBe(
      'redis://hotline-gateway:s3cret@h:1/0',
    );
    expect(isDefaultRedisUser('redis://127.0.0.1:6379/0')).toBe(true);
    expect(isDefaultRedisUser('redis://default:x@127.0.0.1:6379/0')).toBe(true);
    expect(isDefaultRedisUser('redis://:x@127.0.0.1:6379/0')).toBe(true);
    expect(isDefaultRedisUser(asRedisUser('redis://127.0.0.1:6379/0', 'worker', {}))).toBe(false);
  });

  it('an app connected as the default user warns at start, naming its own user and the command, never the URL', () => {
    const url = 'redis://:hunter2-secret@127.0.0.1:6379/0';
    const w = defaultRedisUserWarning('gateway', url, {});
    expect(w).toMatch(/^\[gateway\] warning: REDIS_URL connects as Redis's default user/);
    expect(w).toContain(`redis://${REDIS_USERS.gateway.user}:<REDIS_GATEWAY_PASSWORD>@`);
    expect(w).toContain('npm run -s cli -- redis:acl');
    expect(w).not.toContain('hunter2');
    expect(defaultRedisUserWarning('gateway', url, { HOTLINE_DEMO: '1' })).toBeNull();
    expect(defaultRedisUserWarning('records', url, { NODE_ENV: 'test' })).toBeNull();
    expect(defaultRedisUserWarning('records', url, { HOTLINE_TEST_ID: 'bench' })).toBeNull();
    expect(defaultRedisUserWarning('records', url, { NODE_ENV: 'production' })).toMatch(/^\[records\] warning/);
    expect(defaultRedisUserWarning('cli', url, {})).toBeNull();
    expect(defaultRedisUserWarning('worker', asRedisUser(url, 'worker', {}), {})).toBeNull();
  });
});
