import { readFileSync } from 'fs';
import { join } from 'path';
import { Connection, createConnection } from 'mysql2/promise';
import { parse } from 'yaml';
import { GATEWAY_MUST_NOT_HOLD, RECORDS_MUST_NOT_HOLD, WORKER_MUST_NOT_HOLD } from '@hotline/config';
import { DB_ACCOUNTS, DbApp } from '../../scripts/db-accounts';
import { TEST_DATABASE_URL, TEST_KEYSTORE_URL, testDatabaseUrls } from '../support/test-config';

/**
 * Least privilege in MySQL itself: each app's own account (scripts/db-accounts.sql, given to this run's
 * databases by globalSetup as `npm run migrate` gives them) is refused by the server what its app must
 * never do, and allowed what it must. And docker/compose.yml gives each service only its own variables.
 */
const APPS: DbApp[] = ['gateway', 'records', 'worker'];
const DB = new URL(TEST_DATABASE_URL).pathname.slice(1);
const KEYS = new URL(TEST_KEYSTORE_URL).pathname.slice(1);

/** MySQL's refusals: a table or column right missing, or no right at all on the database. */
const DENIED =
  /^ER_(TABLEACCESS_DENIED_ERROR|COLUMNACCESS_DENIED_ERROR|DBACCESS_DENIED_ERROR|ACCESS_DENIED_ERROR|SPECIFIC_ACCESS_DENIED_ERROR)$/;

async function refused(c: Connection, sql: string, params: unknown[] = []): Promise<string> {
  const err = await c.query(sql, params).then(
    () => null,
    (e: { code?: string }) => e,
  );
  expect(err).not.toBeNull();
  expect(err!.code).toMatch(DENIED);
  return err!.code!;
}

describe('database accounts: each app may do only what it needs', () => {
  const conns: Partial<Record<DbApp, Connection>> = {};
  let migrator: Connection;
  let seq: number;

  beforeAll(async () => {
    migrator = await createConnection({ uri: TEST_DATABASE_URL });
    for (const app of APPS) conns[app] = await createConnection({ uri: testDatabaseUrls(app).DATABASE_URL });
    // The newest audit entry (if any) to aim at; the refusals come before any row is looked at. Nothing is
    // written here: the run's chain stays as the other suites verify it.
    const [[head]] = (await migrator.query('SELECT seq FROM audit_head WHERE id = 1')) as any;
    seq = Number(head.seq);
  });

  afterAll(async () => {
    for (const c of [...Object.values(conns), migrator]) await c?.end();
  });

  it('connects each app as its own account, not the migrator', async () => {
    for (const app of APPS) {
      const [[row]] = (await conns[app]!.query('SELECT CURRENT_USER() AS u')) as any;
      expect(row.u).toBe(`${DB_ACCOUNTS[app].user}@%`);
    }
  });

  it('the gateway cannot read data keys: no right at all on the keystore', async () => {
    await refused(conns.gateway!, `SELECT * FROM \`${KEYS}\`.data_keys`);
    await refused(conns.gateway!, `SELECT call_id FROM \`${KEYS}\`.data_keys`);
    await refused(conns.gateway!, `DELETE FROM \`${KEYS}\`.data_keys`);
    // Nor connect to it at all.
    const err = await createConnection({ uri: testDatabaseUrls('gateway').KEYSTORE_URL }).then(
      async (c) => {
        await c.end();
        return null;
      },
      (e: { code?: string }) => e,
    );
    expect(err?.code).toMatch(DENIED);
  });

  it('the gateway cannot read note ciphertext, escalation details, password hashes or a sealed contact number', async () => {
    await refused(conns.gateway!, 'SELECT body_enc FROM notes');
    await refused(conns.gateway!, 'SELECT * FROM notes');
    await refused(conns.gateway!, 'SELECT details_enc FROM escalations');
    await refused(conns.gateway!, 'SELECT password_hash FROM staff');
    await refused(conns.gateway!, 'SELECT contact_enc FROM deletion_requests');
    await refused(conns.gateway!, 'DELETE FROM calls');
  });

  it("only the worker deletes a call's legs; records, which deletes nothing at Twilio, does not read them", async () => {
    await refused(conns.gateway!, "DELETE FROM call_legs WHERE call_id = 'no-such-call'");
    await refused(conns.gateway!, "UPDATE call_legs SET deleted_at = NOW() WHERE call_id = 'no-such-call'");
    await refused(conns.records!, 'SELECT call_sid FROM call_legs LIMIT 1');
  });

  it.each(APPS)('%s cannot UPDATE or DELETE audit rows, nor rewrite the schema', async (app) => {
    const c = conns[app]!;
    expect(await refused(c, "UPDATE audit_log SET action = 'rewritten' WHERE seq = ?", [seq])).toBe('ER_TABLEACCESS_DENIED_ERROR');
    expect(await refused(c, 'DELETE FROM audit_log WHERE seq = ?', [seq])).toBe('ER_TABLEACCESS_DENIED_ERROR');
    await refused(c, 'DELETE FROM audit_log');
    await refused(c, 'TRUNCATE TABLE audit_log');
    await refused(c, 'DROP TABLE audit_log');
    await refused(c, 'ALTER TABLE audit_log ADD COLUMN x INT');
    await refused(c, 'DELETE FROM audit_head');
    const [[head]] = (await migrator.query('SELECT seq FROM audit_head WHERE id = 1')) as any;
    expect(Number(head.seq)).toBeGreaterThanOrEqual(seq);
  });

  it('each can do what it needs', async () => {
    // gateway: call metadata, operators' names, the audit head (appends lock it and move it on).
    await conns.gateway!.query('SELECT id, status, started_at FROM calls LIMIT 1');
    await conns.gateway!.query('SELECT id, display_name FROM staff LIMIT 1');
    await conns.gateway!.query('SELECT id, status FROM deletion_requests LIMIT 1');
    await conns.gateway!.query('SELECT seq, hash FROM audit_head WHERE id = 1');
    // records: content and the audit log; the keystore's data keys.
    await conns.records!.query('SELECT body_enc FROM notes LIMIT 1');
    await conns.records!.query('SELECT seq, hash FROM audit_log WHERE seq = ?', [seq]);
    await conns.records!.query(`SELECT wrapped_key FROM \`${KEYS}\`.data_keys LIMIT 1`);
    // worker: destroys (a no-op here) and reads the chain; the keystore's keys.
    await conns.worker!.query("DELETE FROM notes WHERE call_id = 'no-such-call'");
    await conns.worker!.query('SELECT seq, hash FROM audit_log WHERE seq = ?', [seq]);
    await conns.worker!.query(`DELETE FROM \`${KEYS}\`.data_keys WHERE call_id = 'no-such-call'`);
    // A call's legs at Twilio (issue 23): the gateway keeps them, the worker deletes them (and marks them deleted there).
    await conns.gateway!.query('SELECT call_sid FROM call_legs LIMIT 1');
    await conns.worker!.query("UPDATE call_legs SET deleted_at = NOW() WHERE call_id = 'no-such-call'");
    await conns.worker!.query("DELETE FROM call_legs WHERE call_id = 'no-such-call'");
    await conns.worker!.query("UPDATE callback_attempts SET call_deleted_at = NOW() WHERE twilio_call_sid = 'no-such-call'");
    // And no app account reaches another database on the server.
    for (const app of APPS) await refused(conns[app]!, 'SELECT user FROM mysql.user');
    expect(DB).not.toBe(KEYS);
  });
});

describe('docker/compose.yml: each service holds only its own variables and database account', () => {
  const compose = parse(readFileSync(join(__dirname, '..', '..', 'docker', 'compose.yml'), 'utf8'));
  const envOf = (service: string): Record<string, string> => {
    const env = compose.services[service].environment;
    expect(env).toBeDefined();
    // The map form only: a list (`- KEY=value`) would hide nothing either, but one form keeps the test honest.
    expect(Array.isArray(env)).toBe(false);
    return env;
  };
  const userOf = (url: string) => decodeURIComponent(new URL(url.replace(/\$\{[^}]*\}/g, 'x')).username);
  const MUST_NOT_HOLD: Record<DbApp, string[]> = {
    gateway: GATEWAY_MUST_NOT_HOLD,
    records: RECORDS_MUST_NOT_HOLD,
    worker: WORKER_MUST_NOT_HOLD,
  };

  it.each(APPS)('%s: none of the secrets it must not hold, and its own database account', (app) => {
    const env = envOf(app);
    for (const k of MUST_NOT_HOLD[app]) expect({ [k]: env[k] }).toEqual({ [k]: undefined });
    // No other app's account or password either.
    for (const other of APPS.filter((a) => a !== app)) {
      expect(Object.keys(env)).not.toContain(DB_ACCOUNTS[other].passwordVar);
      expect(JSON.stringify(env)).not.toContain(DB_ACCOUNTS[other].user);
    }
    expect(userOf(env.DATABASE_URL)).toBe(DB_ACCOUNTS[app].user);
    if (app === 'gateway') expect(env.KEYSTORE_URL).toBeUndefined();
    else expect(userOf(env.KEYSTORE_URL)).toBe(DB_ACCOUNTS[app].user);
    // Nothing shared by an anchor that would bring every secret back.
    expect(JSON.stringify(compose.services[app])).not.toContain('MYSQL_ROOT_PASSWORD');
  });

  it('the gateway holds the keys it needs and nothing more', () => {
    const env = envOf('gateway');
    for (const k of ['MASTER_KEY', 'KEYSTORE_URL', 'BOOTSTRAP_ADMIN', 'TOKEN_PRIVATE_KEY', 'AUDIT_CHECKPOINT_KEY'])
      expect(env[k]).toBeUndefined();
    expect(env.TOKEN_PUBLIC_KEY).toBeDefined();
  });

  it('only the migrate service connects as the migrator, and it holds no app secret', () => {
    const env = envOf('migrate');
    const migrator = userOf(env.DATABASE_URL);
    expect(APPS.map((a) => DB_ACCOUNTS[a].user)).not.toContain(migrator);
    for (const app of APPS) expect(userOf(envOf(app).DATABASE_URL)).not.toBe(migrator);
    for (const k of ['MASTER_KEY', 'TOKEN_PRIVATE_KEY', 'AUDIT_CHECKPOINT_KEY', 'BOOTSTRAP_ADMIN', 'PSEUDONYM_KEY'])
      expect(env[k]).toBeUndefined();
  });
});
