import Redis from 'ioredis';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DEFAULT_ROUTING_PREFIX, RoutingStore } from './routing.store';
import {
  ROUTING_LUA_DIR,
  ROUTING_PRELUDE,
  ROUTING_SCRIPTS,
  RoutingScriptSource,
  checkRoutingPrefix,
  hashTag,
  loadRoutingScripts,
  routingKeys,
} from './routing.scripts';

/** Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag, or of the whole key, mod 16384. */
function keySlot(key: string): number {
  const bytes = Buffer.from(hashTag(key) ?? key);
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Functions the prelude builds keys with, from ids the script reads while it runs. */
const RUNTIME_KEY_BUILDERS = ['ck', 'okey', 'nodeKey', 'nodeConns', 'statsKey'];

const code = (lua: string) => lua.replace(/--.*$/gm, '');

/** The prelude's functions: the shared keys (K.x) and the other functions each one uses. */
function preludeFunctions(prelude: string): Map<string, { keys: Set<string>; calls: Set<string> }> {
  const src = code(prelude);
  const starts = [...src.matchAll(/^local function (\w+)\(/gm)];
  const fns = new Map<string, string>();
  starts.forEach((m, i) => fns.set(m[1], src.slice(m.index! + m[0].length, i + 1 < starts.length ? starts[i + 1].index : src.length)));
  const out = new Map<string, { keys: Set<string>; calls: Set<string> }>();
  for (const [name, body] of fns) out.set(name, usesOf(body, [...fns.keys()]));
  return out;
}

function usesOf(body: string, fnNames: string[]): { keys: Set<string>; calls: Set<string> } {
  return {
    keys: new Set([...body.matchAll(/\bK\.(\w+)/g)].map((m) => m[1])),
    calls: new Set(fnNames.filter((f) => new RegExp(`\\b${f}\\(`).test(body))),
  };
}

/** The keys a script names through K and the key builders it reaches, directly or through the prelude. */
function reach(script: RoutingScriptSource, fns: ReturnType<typeof preludeFunctions>): { keys: Set<string>; builders: Set<string> } {
  const direct = usesOf(code(script.body), [...fns.keys()]);
  const keys = new Set(direct.keys);
  const seen = new Set<string>();
  const todo = [...direct.calls];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    fns.get(f)!.keys.forEach((k) => keys.add(k));
    todo.push(...fns.get(f)!.calls);
  }
  return { keys, builders: new Set(RUNTIME_KEY_BUILDERS.filter((b) => seen.has(b))) };
}

const SAMPLE: Record<string, string> = {
  callId: '3f1c2a9e-0d55-4a49-9d0b-1b1f7c0e2a11',
  opId: '9b2e6c1d-7a40-4f1e-8c3b-5d6e7f8a9b0c',
  callSid: 'CA' + '0'.repeat(32),
  day: '2026-11-20',
  node: 'node-1',
};
const sampleArgs = (s: RoutingScriptSource) => s.argv.map((a) => SAMPLE[a] ?? '1');

describe('routing scripts', () => {
  const scripts = loadRoutingScripts();
  const fns = preludeFunctions(scripts.enqueue.lua.slice(0, scripts.enqueue.lua.indexOf('\nbind({')));

  it('has one .lua file per script, besides the prelude, and loads each', () => {
    const files = readdirSync(ROUTING_LUA_DIR).filter((f) => f.endsWith('.lua'));
    expect(files.sort()).toEqual([ROUTING_PRELUDE, ...ROUTING_SCRIPTS].map((n) => `${n}.lua`).sort());
    for (const name of ROUTING_SCRIPTS) {
      expect(scripts[name].body).toBe(readFileSync(join(ROUTING_LUA_DIR, `${name}.lua`), 'utf8'));
      expect(scripts[name].lua.startsWith(readFileSync(join(ROUTING_LUA_DIR, `${ROUTING_PRELUDE}.lua`), 'utf8'))).toBe(true);
      expect(scripts[name].keys.length).toBeGreaterThan(0);
    }
  });

  it.each(ROUTING_SCRIPTS)('%s: its KEYS share one hash tag and one cluster slot', (name) => {
    for (const prefix of [DEFAULT_ROUTING_PREFIX, 'hl:{rt-spec}:']) {
      const keys = routingKeys(scripts[name], prefix, sampleArgs(scripts[name]));
      expect(keys).toHaveLength(scripts[name].keys.length);
      expect(new Set(keys.map(hashTag))).toEqual(new Set([hashTag(prefix)]));
      expect(new Set(keys.map(keySlot))).toEqual(new Set([keySlot(prefix + 'waiting')]));
      // What a script builds at run time is prefix + name:id, so it falls in the same slot.
      for (const k of ['call:', 'op:', 'node:', 'nconns:', 'stats:'])
        expect(keySlot(`${prefix}${k}anything`)).toBe(keySlot(prefix + 'waiting'));
    }
  });

  it.each(ROUTING_SCRIPTS)('%s: names through K exactly the keys of its KEYS line, and says which keys it finds at run time', (name) => {
    const s = scripts[name];
    const { keys, builders } = reach(s, fns);
    expect([...keys].sort()).toEqual([...s.keys].sort());
    // Only the prelude reads KEYS or builds a key from the prefix.
    expect(code(s.body)).not.toMatch(/\bKEYS\b|\bP\b/);
    expect(/Keys found at run time/.test(s.body)).toBe(builders.size > 0);
    // Every argument the script reads has a name on its ARGV line (which the keys' ids are taken from).
    const read = [...code(s.body).matchAll(/\bARGV\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(Math.max(0, ...read)).toBeLessThanOrEqual(s.argv.length);
  });

  it('checks the Redis Cluster slot arithmetic against the examples of the Redis documentation', () => {
    expect(keySlot('somekey')).toBe(11058);
    expect(keySlot('foo{hash_tag}')).toBe(2515);
    expect(keySlot('123456789')).toBe(0x31c3);
  });

  it('refuses a prefix without a hash tag', () => {
    expect(() => checkRoutingPrefix('hl:rt:')).toThrow(/hash tag/);
    expect(() => checkRoutingPrefix('hl:{}:')).toThrow(/hash tag/);
    expect(() => checkRoutingPrefix('hl:{rt} x:')).toThrow(/letters/);
    expect(() => checkRoutingPrefix(DEFAULT_ROUTING_PREFIX)).not.toThrow();
  });

  it('names the file when one is missing or has no KEYS line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-lua-'));
    writeFileSync(join(dir, 'prelude.lua'), '');
    expect(() => loadRoutingScripts(dir)).toThrow(/enqueue\.lua/);
    for (const name of ROUTING_SCRIPTS) writeFileSync(join(dir, `${name}.lua`), scripts[name].body);
    writeFileSync(join(dir, 'accept.lua'), '-- ARGV: callId\nreturn 1');
    expect(() => loadRoutingScripts(dir)).toThrow(/accept\.lua: no "-- KEYS:" line/);
  });

  describe('in Redis', () => {
    let redis: Redis;
    beforeAll(() => {
      redis = new Redis(process.env.REDIS_URL!);
    });
    afterAll(async () => {
      await redis.quit();
    });

    it('defines every script on the connection, and every script compiles', async () => {
      new RoutingStore(redis, { prefix: 'hl:{rt-spec}:', offerTimeoutMs: 2000, graceMs: 5000, serviceLevelMs: 30_000, timeZone: 'UTC' });
      for (const name of ROUTING_SCRIPTS) {
        expect(typeof (redis as any)[`hl_routing_${name}`]).toBe('function');
        expect(await redis.script('LOAD', scripts[name].lua)).toMatch(/^[0-9a-f]{40}$/);
      }
    });

    it('refuses keys outside the prefix of the first shared key', async () => {
      const s = scripts.accept;
      const keys = routingKeys(s, 'hl:{rt-spec}:', sampleArgs(s));
      await expect(redis.eval(s.lua, 2, keys[0], 'hl:{other}:offers', ...sampleArgs(s))).rejects.toThrow(/routing prefix/);
      await expect(redis.eval(s.lua, 1, keys[0], ...sampleArgs(s))).rejects.toThrow(/expected KEYS/);
    });
  });
});
