import { readFileSync } from 'fs';
import { join } from 'path';
import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { REDIS_APPS, REDIS_QUEUES, REDIS_USERS, RedisApp } from '@hotline/config';
import { DB_ACCOUNTS, DbApp } from '../../scripts/db-accounts';
import { TEST_DATABASE_URL, TEST_ID, TEST_KEYSTORE_URL, TEST_REDIS_URL, testDatabaseUrls } from '../support/test-config';

/**
 * docs/trust-model.md says what each app can reach in Redis and in MySQL; this reads its tables and
 * checks them against the live servers, both ways: the rules Redis reports for each app user (ACL
 * GETUSER) and the grants MySQL reports for each app account (SHOW GRANTS, on this run's databases,
 * given by globalSetup from scripts/db-accounts.sql as `npm run migrate` gives them). A right the
 * servers give that the document does not state, or one it states that they do not give, fails here.
 */

const DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'trust-model.md'), 'utf8');
const DB = { records: new URL(TEST_DATABASE_URL).pathname.slice(1), keystore: new URL(TEST_KEYSTORE_URL).pathname.slice(1) };

/** The cells of a Markdown table row: split at unescaped pipes, `\|` unescaped, code spans' backticks dropped. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) =>
      c
        .replace(/\\\|/g, '|')
        .trim()
        .replace(/^`(.*)`$/, '$1'),
    );
}

/** The tables of the section under the heading whose text matches `heading` (up to the next heading of its level or above). */
function tablesUnder(heading: RegExp): string[][][] {
  const lines = DOC.split('\n');
  const at = lines.findIndex((l) => /^#+ /.test(l) && heading.test(l.replace(/^#+ /, '')));
  if (at < 0) throw new Error(`docs/trust-model.md has no heading ${heading}`);
  const level = /^#+/.exec(lines[at])![0].length;
  const tables: string[][][] = [];
  let current: string[][] | null = null;
  for (const line of lines.slice(at + 1)) {
    const h = /^(#+) /.exec(line);
    if (h && h[1].length <= level) break;
    if (line.startsWith('|')) {
      if (/^\|\s*-+/.test(line)) continue;
      if (!current) tables.push((current = []));
      current.push(cells(line));
    } else current = null;
  }
  return tables;
}

/** The table (header row first) whose first header cell is `first`. */
function table(heading: RegExp, first: string): string[][] {
  const t = tablesUnder(heading).find((rows) => rows[0][0] === first);
  if (!t) throw new Error(`docs/trust-model.md: no table "${first}" under ${heading}`);
  return t.slice(1);
}

/** `{0..15}` and `{a,b,c}` written out (a brace without a comma or range, as in `hl:{rt}:`, is the key's own). */
function expand(pattern: string): string[] {
  const m = /\{(\d+)\.\.(\d+)\}|\{([^{}]*,[^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  const options = m[3] ? m[3].split(',') : Array.from({ length: Number(m[2]) - Number(m[1]) + 1 }, (_, i) => String(Number(m[1]) + i));
  return options.flatMap((o) => expand(pattern.slice(0, m.index) + o + pattern.slice(m.index + m[0].length)));
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** What is in `a` and not `b`, and the reverse, for a readable failure. */
function difference(doc: string[], live: string[]) {
  return { inTheDocumentOnly: doc.filter((x) => !live.includes(x)), onTheServerOnly: live.filter((x) => !doc.includes(x)) };
}

/** One right per entry: `SELECT` on a whole table, or `UPDATE(col)` on one column. */
function rights(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let item = '';
  for (const ch of `${list},`) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      const m = /^\s*([A-Z][A-Z ]*?)\s*(?:\(([^)]*)\))?\s*$/.exec(item);
      if (!m) throw new Error(`cannot read the rights "${item}"`);
      const cols = m[2]?.split(',').map((c) => c.trim().replace(/`/g, ''));
      out.push(...(cols ? cols.map((c) => `${m[1]}(${c})`) : [m[1]]));
      item = '';
    } else item += ch;
  }
  return out;
}

describe('docs/trust-model.md agrees with the live servers', () => {
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  async function getUser(user: string): Promise<Record<string, unknown>> {
    const flat = (await admin.call('ACL', 'GETUSER', user)) as unknown[] | null;
    if (!flat) throw new Error(`Redis has no user ${user}`);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
    return out;
  }

  it('Redis users: each app its own, enabled, with the password variable the document names', async () => {
    const rows = table(/^Users$/, 'app');
    expect(rows.map(([app, user, variable]) => ({ app, user, variable }))).toEqual(
      REDIS_APPS.map((app) => ({ app, user: REDIS_USERS[app].user, variable: REDIS_USERS[app].passwordVar })),
    );
    for (const [, user] of rows) expect((await getUser(user)).flags).toContain('on');
  });

  for (const app of REDIS_APPS) {
    const user = REDIS_USERS[app].user;

    it(`Redis: ${user}'s key patterns, read-only or read-write, are exactly the document's`, async () => {
      const doc = table(new RegExp(`^\`${user}\`$`), 'key pattern').map(([pattern, access]) => {
        if (access !== 'read' && access !== 'read-write') throw new Error(`${user}: access "${access}" is neither read nor read-write`);
        return `${access === 'read' ? '%R~' : '~'}${pattern}`;
      });
      const live = String((await getUser(user)).keys)
        .split(' ')
        .filter(Boolean);
      expect(difference(sorted(doc), sorted(live))).toEqual({ inTheDocumentOnly: [], onTheServerOnly: [] });
    });

    it(`Redis: ${user}'s channel patterns are exactly the document's`, async () => {
      const doc = table(new RegExp(`^\`${user}\`$`), 'channel pattern').flatMap(([pattern]) => expand(pattern).map((p) => `&${p}`));
      const live = String((await getUser(user)).channels)
        .split(' ')
        .filter(Boolean);
      expect(difference(sorted(doc), sorted(live))).toEqual({ inTheDocumentOnly: [], onTheServerOnly: [] });
    });
  }

  it("Redis: every app user's commands are the document's rules, in its order", async () => {
    const rules = table(/^Commands/, 'rule').map(([rule]) => rule);
    expect(rules[0]).toBe('-@all');
    // Redis reports a user's commands in its own normal form: the document's rules are given to a user of
    // this check's own, and the two reports compared.
    const probe = `trust-model-check-${TEST_ID}`;
    try {
      await admin.call('ACL', 'SETUSER', probe, 'reset', ...rules);
      const expected = (await getUser(probe)).commands;
      for (const app of REDIS_APPS)
        expect({ user: REDIS_USERS[app].user, commands: (await getUser(REDIS_USERS[app].user)).commands }).toEqual({
          user: REDIS_USERS[app].user,
          commands: expected,
        });
    } finally {
      await admin.call('ACL', 'DELUSER', probe);
    }
  });

  it('Redis: each queue is reached by the apps that add its jobs and run them, as the document says', async () => {
    const rows = table(/^Queues$/, 'queue');
    const parse = (s: string) => s.split(',').map((a) => a.trim()) as RedisApp[];
    expect(rows.map(([queue, producers, consumers]) => ({ queue, producers: parse(producers), consumers: parse(consumers) }))).toEqual(
      REDIS_QUEUES.map((q) => ({ queue: q.queue, producers: q.producers, consumers: q.consumers })),
    );
    const keys = Object.fromEntries(
      await Promise.all(REDIS_APPS.map(async (app) => [app, String((await getUser(REDIS_USERS[app].user)).keys).split(' ')] as const)),
    );
    for (const [queue, producers, consumers] of rows) {
      const doc = sorted([...parse(producers), ...parse(consumers)]);
      const live = REDIS_APPS.filter((app) => keys[app].includes(`~hl-bull:${queue}:*`));
      expect({ queue, apps: sorted(live) }).toEqual({ queue, apps: doc });
    }
  });

  for (const app of ['gateway', 'records', 'worker'] as DbApp[]) {
    const account = DB_ACCOUNTS[app].user;

    it(`MySQL: ${account}'s grants on the two databases are exactly the document's`, async () => {
      const doc = table(new RegExp(`^\`${account}\`$`), 'database').flatMap(([database, name, list]) => {
        if (database !== 'records' && database !== 'keystore')
          throw new Error(`${account}: database "${database}" is neither records nor keystore`);
        return rights(list).map((r) => `${database}.${name}: ${r}`);
      });
      // SHOW GRANTS as the account itself (it lists every grant the account holds on the server).
      const c = await createConnection({ uri: testDatabaseUrls(app).DATABASE_URL });
      let lines: string[];
      try {
        const [rows] = (await c.query('SHOW GRANTS')) as unknown as [Record<string, string>[]];
        lines = rows.map((r) => Object.values(r)[0]);
      } finally {
        await c.end();
      }
      const live: string[] = [];
      for (const line of lines) {
        const m = /^GRANT (.+) ON `([^`]+)`\.(`([^`]+)`|\*) TO /.exec(line);
        if (!m) continue;
        const database = m[2] === DB.records ? 'records' : m[2] === DB.keystore ? 'keystore' : null;
        if (!database) continue; // another run's databases
        live.push(...rights(m[1]).map((r) => `${database}.${m[4] ?? '*'}: ${r}`));
      }
      expect(live.length).toBeGreaterThan(0);
      expect(difference(sorted(doc), sorted(live))).toEqual({ inTheDocumentOnly: [], onTheServerOnly: [] });
    });
  }
});
