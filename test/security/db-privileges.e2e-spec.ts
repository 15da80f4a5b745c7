import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Connection, createConnection } from 'mysql2/promise';
import { parse } from 'yaml';
import { GATEWAY_MUST_NOT_HOLD, RECORDS_MUST_NOT_HOLD, WORKER_MUST_NOT_HOLD } from '@hotline/config';
import { DB_ACCOUNTS, DbApp } from '../../scripts/db-accounts';
import { TEST_DATABASE_URL, TEST_KEYSTORE_URL, testDatabaseUrls } from '../support/test-config';
import { attack } from './support/attack-ledger';

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

/**
 * Issue 24: the gateway's account writes only the columns it must. An attacker with the gateway's own
 * MySQL credentials (hotline_gateway and its password, as the gateway holds them) cannot redirect a
 * callback: not seal their number to it, not move it under a key, not make it due or prefer an
 * operator, not file a follow-up, not add an attempt; nor rewrite a call's retention, a consent, a
 * recording's deletion, a deletion request's caller or grace. MySQL refuses, and nothing changes.
 */
describe('the gateway cannot redirect a callback, nor rewrite what it filed', () => {
  const AS = 'the gateway’s MySQL account (hotline_gateway, its own password)';
  let gateway: Connection;
  let migrator: Connection;
  const callId = randomUUID();
  const callbackId = randomUUID();
  const followupId = randomUUID();
  const attemptId = randomUUID();
  const columns =
    'id, call_id, kind, status, caller_pseudonym, contact_key_id, sealed_number, number_enc, number_moved_at, country, preferred_operator_id, claimed_by, due_at, attempts, max_attempts, last_outcome, created_at, closed_at';
  const rowOf = async (id: string) => ((await migrator.query(`SELECT ${columns} FROM callbacks WHERE id = ?`, [id])) as any)[0][0];
  const future = new Date(Date.now() + 24 * 3600_000);

  beforeAll(async () => {
    gateway = await createConnection({ uri: testDatabaseUrls('gateway').DATABASE_URL });
    migrator = await createConnection({ uri: TEST_DATABASE_URL });
    const [[me]] = (await gateway.query('SELECT CURRENT_USER() AS u')) as any;
    expect(me.u).toBe(`${DB_ACCOUNTS.gateway.user}@%`);
    // A callback as the gateway files one (its own INSERT right: kind, status, attempts by their defaults),
    // scheduled tomorrow, its number already moved under the call's key by records (the migrator stands in).
    await gateway.query(
      `INSERT INTO callbacks (id, call_id, caller_pseudonym, contact_key_id, sealed_number, due_at, max_attempts, created_at)
       VALUES (?, ?, NULL, ?, ?, ?, 3, NOW(3))`,
      [callbackId, callId, randomUUID(), randomBytes(64), future],
    );
    await migrator.query('UPDATE callbacks SET sealed_number = NULL, number_enc = ?, number_moved_at = NOW(3), country = ? WHERE id = ?', [
      randomBytes(64),
      'GB',
      callbackId,
    ]);
    await migrator.query(
      `INSERT INTO callback_attempts (id, callback_id, call_id, operator_id, twilio_call_sid, outcome, started_at) VALUES (?, ?, ?, ?, NULL, NULL, NOW(3))`,
      [attemptId, callbackId, callId, randomUUID()],
    );
  });

  afterAll(async () => {
    // Closed, as the gateway may: nobody's list shows these rows.
    await gateway?.query("UPDATE callbacks SET status = 'closed', closed_at = NOW(3), number_enc = NULL WHERE id IN (?)", [
      [callbackId, followupId],
    ]);
    await gateway?.end();
    await migrator?.end();
  });

  it('files a callback with only what a request sets: kind, status and attempts are the defaults', async () => {
    expect(await rowOf(callbackId)).toMatchObject({
      kind: 'callback',
      status: 'open',
      attempts: 0,
      preferred_operator_id: null,
      claimed_by: null,
    });
  });

  it.each([
    ['seal its own number to a callback already moved', 'UPDATE callbacks SET sealed_number = ? WHERE id = ?', () => [randomBytes(64)]],
    [
      'seal its own number to it under a fresh one-time key',
      'UPDATE callbacks SET contact_key_id = ?, sealed_number = ? WHERE id = ?',
      () => [randomUUID(), randomBytes(64)],
    ],
    [
      'move a callback under a key (a sealed number in place of the one under the call’s key)',
      'UPDATE callbacks SET number_enc = NULL, sealed_number = ? WHERE id = ?',
      () => [randomBytes(64)],
    ],
    ['unmark the number as moved (so a later seal would pass)', 'UPDATE callbacks SET number_moved_at = NULL WHERE id = ?', () => []],
    ['make a callback due now', 'UPDATE callbacks SET due_at = NOW(3) WHERE id = ?', () => []],
    ['give a callback more attempts', 'UPDATE callbacks SET attempts = 0, max_attempts = 99 WHERE id = ?', () => []],
    ['prefer an operator of its choosing', 'UPDATE callbacks SET preferred_operator_id = ? WHERE id = ?', () => [randomUUID()]],
    ['claim a callback for an operator', 'UPDATE callbacks SET claimed_by = ? WHERE id = ?', () => [randomUUID()]],
    ['turn a callback into a follow-up', "UPDATE callbacks SET kind = 'followup' WHERE id = ?", () => []],
    ['set the country the operators see', "UPDATE callbacks SET country = 'US' WHERE id = ?", () => []],
    ['re-point a callback at another call', 'UPDATE callbacks SET call_id = ? WHERE id = ?', () => [randomUUID()]],
    ['read the number under the call’s key', 'SELECT number_enc FROM callbacks WHERE id = ?', () => []],
    ['copy another callback’s ciphertext (reads the column)', 'UPDATE callbacks SET number_enc = number_enc WHERE id = ?', () => []],
  ])('refused: %s', async (tried, sql, params) => {
    const before = await rowOf(callbackId);
    expect(
      await attack(AS, tried, async () => {
        await refused(gateway, sql, [...params(), callbackId]);
        return JSON.stringify(await rowOf(callbackId)) === JSON.stringify(before);
      }),
    ).toBe(true);
  });

  it('refused: file a follow-up, or a callback with a preferred operator, a status or attempts of its choosing', async () => {
    const insert = (cols: string, values: unknown[]) =>
      refused(
        gateway,
        `INSERT INTO callbacks (id, call_id, contact_key_id, sealed_number, due_at, max_attempts, created_at, ${cols})
         VALUES (?, ?, ?, ?, NOW(3), 3, NOW(3)${', ?'.repeat(values.length)})`,
        [followupId, callId, randomUUID(), randomBytes(64), ...values],
      );
    for (const [tried, cols, values] of [
      ['file a follow-up (kind followup)', 'kind', ['followup']],
      ['file a callback preferring an operator', 'preferred_operator_id', [randomUUID()]],
      ['file a callback already being dialled', 'status', ['dialling']],
      ['file a callback with its number “under the call’s key”', 'number_enc', [randomBytes(64)]],
      ['file a callback already marked moved', 'number_moved_at', [new Date()]],
    ] as const)
      expect(
        await attack(AS, tried, async () => {
          await insert(cols, [...values]);
          return (await rowOf(followupId)) === undefined;
        }),
      ).toBe(true);
    const [[n]] = (await migrator.query("SELECT COUNT(*) AS n FROM callbacks WHERE call_id = ? AND kind = 'followup'", [callId])) as any;
    expect(Number(n.n)).toBe(0);
  });

  it('refused: add an attempt, or rewrite who placed one or its call', async () => {
    const before = ((await migrator.query('SELECT * FROM callback_attempts WHERE id = ?', [attemptId])) as any)[0][0];
    expect(
      await attack(AS, 'insert a callback attempt', async () => {
        await refused(
          gateway,
          'INSERT INTO callback_attempts (id, callback_id, call_id, operator_id, started_at) VALUES (?, ?, ?, ?, NOW(3))',
          [randomUUID(), callbackId, callId, randomUUID()],
        );
        const [[c]] = (await migrator.query('SELECT COUNT(*) AS n FROM callback_attempts WHERE callback_id = ?', [callbackId])) as any;
        return Number(c.n) === 1;
      }),
    ).toBe(true);
    for (const [tried, sql] of [
      ['rewrite the operator of an attempt', 'UPDATE callback_attempts SET operator_id = ? WHERE id = ?'],
      ['rewrite an attempt’s Twilio call', 'UPDATE callback_attempts SET twilio_call_sid = ? WHERE id = ?'],
    ] as const)
      expect(
        await attack(AS, tried, async () => {
          await refused(gateway, sql, ['x', attemptId]);
          return (
            JSON.stringify(((await migrator.query('SELECT * FROM callback_attempts WHERE id = ?', [attemptId])) as any)[0][0]) ===
            JSON.stringify(before)
          );
        }),
      ).toBe(true);
  });

  it.each([
    ['keep a call past its retention', 'UPDATE calls SET retention_deadline = ? WHERE id = ?', [future]],
    ['lower a call’s risk level (its retention follows it)', "UPDATE calls SET risk_level = 'none' WHERE id = ?", []],
    ['move a call to another caller', "UPDATE calls SET caller_pseudonym = 'x' WHERE id = ?", []],
    ['rewrite a call’s Twilio SID', "UPDATE calls SET call_sid = 'CAx' WHERE id = ?", []],
    ['turn a refused consent into a granted one', 'UPDATE consents SET granted = 1 WHERE call_id = ?', []],
    ['rewrite a consent’s wording version', "UPDATE consents SET wording_version = 'x' WHERE call_id = ?", []],
    ['mark a recording deleted at Twilio (so it never would be)', 'UPDATE recordings SET deleted_at = NOW(3) WHERE call_id = ?', []],
    ['point a deletion request at another caller', "UPDATE deletion_requests SET caller_pseudonym = 'x' WHERE id = ?", []],
    ['skip a deletion request’s grace period', 'UPDATE deletion_requests SET execute_after = NOW(3) WHERE id = ?', []],
    ['re-point an overflow choice at another call', 'UPDATE call_overflow SET call_id = ? WHERE id = ?', [randomUUID()]],
    ['rewrite who a transfer went to', 'UPDATE call_transfers SET to_staff_id = ? WHERE id = ?', [randomUUID()]],
    ['rewrite who supervised a call', 'UPDATE call_supervisions SET supervisor_id = ? WHERE id = ?', [randomUUID()]],
    ['move a privacy code to another caller', "UPDATE privacy_codes SET caller_pseudonym = 'x' WHERE id = ?", []],
    ['rewrite the audit head’s id', 'UPDATE audit_head SET id = 2 WHERE id = ?', []],
  ])('refused: %s', async (tried, sql, params) => {
    // MySQL checks the columns before it looks for a row: a made-up id will do, and nothing can change.
    expect(
      await attack(AS, tried, async () => {
        await refused(gateway, sql, [...params, randomUUID()]);
        return true;
      }),
    ).toBe(true);
  });

  it('may still do what the call flow, the privacy line and a callback’s end need', async () => {
    const none = 'no-such-row';
    await gateway.query(
      'UPDATE calls SET operator_id = NULL, status = status, answered_at = answered_at, ended_at = ended_at WHERE id = ?',
      [none],
    );
    await gateway.query('UPDATE calls SET last_sequence = 0, wrapup_category = NULL, bridge = bridge, conference_sid = NULL WHERE id = ?', [
      none,
    ]);
    await gateway.query('UPDATE consents SET withdrawn_at = NOW(3) WHERE call_id = ?', [none]);
    await gateway.query("UPDATE recordings SET status = 'completed' WHERE call_id = ?", [none]);
    await gateway.query(
      "UPDATE deletion_requests SET status = 'cancelled', cancelled_at = NOW(3), contact_enc = NULL, call_sids = '' WHERE id = ?",
      [none],
    );
    await gateway.query('UPDATE privacy_codes SET used_at = NOW(3), attempts = 0 WHERE id = ?', [none]);
    await gateway.query('UPDATE caller_preferences SET recording_opt_out_at = NOW(3), updated_at = NOW(3) WHERE caller_pseudonym = ?', [
      none,
    ]);
    await gateway.query('UPDATE sms_messages SET deleted_at = NOW(3) WHERE message_sid = ?', [none]);
    // The upserts of the call flow and the privacy line (rolled back: nothing stays).
    await gateway.beginTransaction();
    await gateway.query(
      `INSERT INTO recordings (id, call_id, recording_sid, status, retention_deadline, created_at) VALUES (?, ?, ?, 'completed', NOW(3), NOW(3))
       ON DUPLICATE KEY UPDATE status = VALUES(status)`,
      [randomUUID(), none, `RE${randomUUID().replace(/-/g, '')}`],
    );
    await gateway.query(
      'INSERT INTO privacy_blocks (caller_pseudonym, blocked_until) VALUES (?, NOW(3)) ON DUPLICATE KEY UPDATE blocked_until = VALUES(blocked_until)',
      [none],
    );
    await gateway.query(
      "INSERT INTO sms_messages (message_sid, purpose, caller_pseudonym, sent_at) VALUES (?, 'code', NULL, NOW(3)) ON DUPLICATE KEY UPDATE message_sid = message_sid",
      [none],
    );
    await gateway.query(
      `INSERT INTO caller_preferences (caller_pseudonym, recording_opt_out_at, updated_at) VALUES (?, NOW(3), NOW(3))
       ON DUPLICATE KEY UPDATE recording_opt_out_at = COALESCE(recording_opt_out_at, VALUES(recording_opt_out_at)), updated_at = VALUES(updated_at)`,
      [none],
    );
    await gateway.rollback();
    await gateway.query('UPDATE call_overflow SET choice = NULL, chosen_at = NULL WHERE id = ?', [none]);
    await gateway.query("UPDATE call_transfers SET outcome = 'failed', ended_at = NOW(3) WHERE id = ?", [none]);
    await gateway.query('UPDATE call_supervisions SET ended_at = NOW(3) WHERE id = ?', [none]);
    await gateway.query("UPDATE callback_attempts SET outcome = 'busy', ended_at = NOW(3) WHERE id = ?", [none]);
    // An attempt's end: status, last outcome, close, the number under the call's key erased.
    await gateway.query("UPDATE callbacks SET status = 'open', last_outcome = 'busy', closed_at = NULL, number_enc = NULL WHERE id = ?", [
      none,
    ]);
    // Locking reads of what it updates (MySQL 8 wants an UPDATE right on the table for FOR UPDATE).
    await gateway.query('SELECT attempts, max_attempts, status FROM callbacks WHERE id = ? FOR UPDATE', [none]);
    await gateway.query('SELECT callback_id, outcome FROM callback_attempts WHERE id = ? FOR UPDATE', [none]);
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
