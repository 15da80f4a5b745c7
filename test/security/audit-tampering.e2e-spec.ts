import { entryHash } from '@hotline/audit';
import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';

/**
 * Someone with SQL access tampers with the audit trail: `GET /audit/verify` must name the first bad
 * entry. test/e2e/records-audit covers an edited, a deleted, a deleted last and two reordered
 * entries; these are the cases it leaves out: an entry edited by someone who also recomputes its
 * hash, a detail rewritten with SQL's own JSON functions, and the check being audited itself.
 * Each case is undone afterwards, row for row, and the chain checked whole again.
 */
const COLUMNS = ['seq', 'at', 'actor_id', 'actor_role', 'action', 'target_type', 'target_id', 'pseudonym', 'detail', 'prev_hash', 'hash'];

describe('audit tampering', () => {
  const { f } = withRecordsApp();
  let auditor: TestStaff;

  beforeAll(async () => {
    auditor = await f.staff('auditor');
    // Some history to tamper with: sign-ins, a call read, a note.
    const op = await f.staff('operator');
    const callId = await f.call({ operator: op });
    await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'Audit tampering fixture note' }).expect(201);
    await f.http().get(`/calls/${callId}`).set(bearer(op)).expect(200);
    for (let i = 0; i < 3; i++) await f.http().post('/auth/login').set('X-Forwarded-For', '198.18.0.1').send({ username: op.username, password: op.password }).expect(200);
  });

  const verify = async () => (await f.http().get('/audit/verify').set(bearer(auditor)).expect(200)).body;
  const head = async (): Promise<number> => Number((await f.db.query('SELECT seq FROM audit_head WHERE id = 1'))[0].seq);
  const rows = (from: number, to: number): Promise<Record<string, unknown>[]> => f.db.query(`SELECT ${COLUMNS.join(', ')} FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq`, [from, to]);

  async function putBack(saved: Record<string, unknown>[]): Promise<void> {
    for (const r of saved) {
      await f.db.query('DELETE FROM audit_log WHERE seq = ?', [r.seq]);
      const values = COLUMNS.map((c) => (c === 'detail' && r.detail !== null && typeof r.detail === 'object' ? JSON.stringify(r.detail) : r[c]));
      await f.db.query(`INSERT INTO audit_log (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`, values);
    }
  }

  /** Tampers with entries from..to, asks the verifier, then restores them exactly and checks the chain is whole again. */
  async function tampered(from: number, to: number, tamper: () => Promise<void>) {
    const saved = await rows(from, to);
    expect(saved).toHaveLength(to - from + 1);
    let result;
    try {
      await tamper();
      result = await verify();
    } finally {
      await putBack(saved);
    }
    expect(await verify()).toMatchObject({ ok: true });
    return result;
  }

  it('verifies the untouched chain, and audits the check itself', async () => {
    const before = await head();
    const result = await verify();
    expect(result).toEqual({ ok: true, entries: before });
    const [entry] = await f.db.query('SELECT action, actor_id FROM audit_log WHERE seq = ?', [before + 1]);
    expect(entry).toEqual({ action: 'audit.verified', actor_id: auditor.id });
  });

  it('names an entry whose detail was rewritten with SQL’s JSON functions', async () => {
    const [{ seq }] = await f.db.query("SELECT MAX(seq) AS seq FROM audit_log WHERE action = 'call.read'");
    const k = Number(seq);
    const result = await tampered(k, k, () => f.db.query(`UPDATE audit_log SET detail = JSON_SET(detail, '$.notes', 0) WHERE seq = ?`, [k]));
    expect(result).toMatchObject({ ok: false, entries: k - 1, firstBadEntry: { seq: k, problem: expect.stringMatching(/edited/) } });
  });

  it('names the entry after one that was edited with its own hash recomputed', async () => {
    const k = (await head()) - 4;
    const result = await tampered(k, k, async () => {
      const [r] = await rows(k, k);
      const forged = { seq: k, at: r.at as Date, actorId: 'someone-else', actorRole: r.actor_role as string, action: r.action as string, targetType: r.target_type as string, targetId: r.target_id as string, pseudonym: r.pseudonym as string, detail: r.detail as Record<string, unknown> };
      await f.db.query('UPDATE audit_log SET actor_id = ?, hash = ? WHERE seq = ?', ['someone-else', entryHash(r.prev_hash as string, forged), k]);
    });
    expect(result).toMatchObject({ ok: false, firstBadEntry: { seq: k + 1, problem: expect.stringMatching(/does not follow/) } });
  });
});
