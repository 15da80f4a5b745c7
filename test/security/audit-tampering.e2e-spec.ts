import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AuditService, GENESIS_HASH, entryHash } from '@hotline/audit';
import { cli } from '../support/cli';
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
  // This suite's own checkpoint directory: what other suites' workers signed does not change its verdicts.
  const checkpointDir = mkdtempSync(join(tmpdir(), 'hotline-audit-checkpoints-'));
  const records = withRecordsApp({ AUDIT_CHECKPOINT_DIR: checkpointDir });
  const { f } = records;
  let auditor: TestStaff;

  beforeAll(async () => {
    auditor = await f.staff('auditor');
    // Some history to tamper with: sign-ins, a call read, a note.
    const op = await f.staff('operator');
    const callId = await f.call({ operator: op });
    await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'Audit tampering fixture note' }).expect(201);
    await f.http().get(`/calls/${callId}`).set(bearer(op)).expect(200);
    for (let i = 0; i < 3; i++)
      await f
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', '198.18.0.1')
        .send({ username: op.username, password: op.password })
        .expect(200);
  });

  const verify = async () => (await f.http().get('/audit/verify').set(bearer(auditor)).expect(200)).body;
  const head = async (): Promise<number> => Number((await f.db.query('SELECT seq FROM audit_head WHERE id = 1'))[0].seq);
  const rows = (from: number, to: number): Promise<Record<string, unknown>[]> =>
    f.db.query(`SELECT ${COLUMNS.join(', ')} FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY seq`, [from, to]);

  async function putBack(saved: Record<string, unknown>[]): Promise<void> {
    for (const r of saved) {
      await f.db.query('DELETE FROM audit_log WHERE seq = ?', [r.seq]);
      const values = COLUMNS.map((c) =>
        c === 'detail' && r.detail !== null && typeof r.detail === 'object' ? JSON.stringify(r.detail) : r[c],
      );
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
    expect(result).toEqual({ ok: true, entries: before, checkpoints: { files: 0, coveredToSeq: 0, problems: [] } });
    const [entry] = await f.db.query('SELECT action, actor_id FROM audit_log WHERE seq = ?', [before + 1]);
    expect(entry).toEqual({ action: 'audit.verified', actor_id: auditor.id });
  });

  it('names an entry whose detail was rewritten with SQL’s JSON functions', async () => {
    const [{ seq }] = await f.db.query("SELECT MAX(seq) AS seq FROM audit_log WHERE action = 'call.read'");
    const k = Number(seq);
    const result = await tampered(k, k, () =>
      f.db.query(`UPDATE audit_log SET detail = JSON_SET(detail, '$.notes', 0) WHERE seq = ?`, [k]),
    );
    expect(result).toMatchObject({ ok: false, entries: k - 1, firstBadEntry: { seq: k, problem: expect.stringMatching(/edited/) } });
  });

  it('names the entry after one that was edited with its own hash recomputed', async () => {
    const k = (await head()) - 4;
    const result = await tampered(k, k, async () => {
      const [r] = await rows(k, k);
      const forged = {
        seq: k,
        at: r.at as Date,
        actorId: 'someone-else',
        actorRole: r.actor_role as string,
        action: r.action as string,
        targetType: r.target_type as string,
        targetId: r.target_id as string,
        pseudonym: r.pseudonym as string,
        detail: r.detail as Record<string, unknown>,
      };
      await f.db.query('UPDATE audit_log SET actor_id = ?, hash = ? WHERE seq = ?', [
        'someone-else',
        entryHash(r.prev_hash as string, forged),
        k,
      ]);
    });
    expect(result).toMatchObject({ ok: false, firstBadEntry: { seq: k + 1, problem: expect.stringMatching(/does not follow/) } });
  });

  describe('signed checkpoints outside MySQL', () => {
    const audit = () => records.app.get(AuditService);

    /** Rewrites entries from k to the head as a forger with full SQL rights would: content changed, every hash and the head recomputed. */
    async function rewriteWholeChainFrom(k: number): Promise<void> {
      const last = await head();
      const all = await rows(k, last);
      let prev = k === 1 ? GENESIS_HASH : ((await rows(k - 1, k - 1))[0].hash as string);
      for (const r of all) {
        const actorId = Number(r.seq) === k ? 'someone-else' : (r.actor_id as string);
        const hash = entryHash(prev, {
          seq: Number(r.seq),
          at: r.at as Date,
          actorId,
          actorRole: r.actor_role as string,
          action: r.action as string,
          targetType: r.target_type as string,
          targetId: r.target_id as string,
          pseudonym: r.pseudonym as string,
          detail: r.detail as Record<string, unknown>,
        });
        await f.db.query('UPDATE audit_log SET actor_id = ?, prev_hash = ?, hash = ? WHERE seq = ?', [actorId, prev, hash, r.seq]);
        prev = hash;
      }
      await f.db.query('UPDATE audit_head SET hash = ? WHERE id = 1', [prev]);
    }

    it('signs the new entries into files outside MySQL, and only the new ones next time', async () => {
      const covered = await audit().checkpoint();
      expect(covered).toBe(await head());
      const files = readdirSync(checkpointDir).filter((n) => n.endsWith('.json'));
      expect(files.length).toBeGreaterThan(0);
      await f.http().get('/audit/verify').set(bearer(auditor)).expect(200); // one more entry
      expect(await audit().checkpoint()).toBe(1);
      const result = await verify();
      expect(result).toMatchObject({ ok: true, checkpoints: { coveredToSeq: (await head()) - 1, problems: [] } });
    });

    it('reports a whole-chain rewrite with recomputed hashes and head, naming the first rewritten entry', async () => {
      await audit().checkpoint();
      const k = (await head()) - 6;
      const [savedHead] = await f.db.query('SELECT seq, hash FROM audit_head WHERE id = 1');
      const saved = await rows(k, Number(savedHead.seq));
      let result;
      try {
        await rewriteWholeChainFrom(k);
        result = await verify();
        const printed = await cli(['audit:verify'], { AUDIT_CHECKPOINT_DIR: checkpointDir });
        expect(printed).toEqual({ code: 1, out: expect.stringContaining(`BROKEN at entry ${k}: differs from the signed checkpoint`) });
      } finally {
        // The check appended its own entry to the forged chain: it goes with the forgery.
        await f.db.query('DELETE FROM audit_log WHERE seq > ?', [savedHead.seq]);
        await putBack(saved);
        await f.db.query('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [savedHead.seq, savedHead.hash]);
      }
      expect(result).toMatchObject({ ok: false, firstBadEntry: { seq: k, problem: expect.stringMatching(/signed checkpoint/) } });
      expect(await verify()).toMatchObject({ ok: true });
    });

    it('reports entries deleted at the end with the head moved back', async () => {
      await audit().checkpoint();
      const [savedHead] = await f.db.query('SELECT seq, hash FROM audit_head WHERE id = 1');
      const last = Number(savedHead.seq);
      const saved = await rows(last - 1, last);
      let result;
      try {
        await f.db.query('DELETE FROM audit_log WHERE seq >= ?', [last - 1]);
        const [newLast] = await rows(last - 2, last - 2);
        await f.db.query('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [last - 2, newLast.hash]);
        result = await verify();
      } finally {
        await putBack(saved);
        await f.db.query('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [savedHead.seq, savedHead.hash]);
      }
      expect(result).toMatchObject({ ok: false, firstBadEntry: { seq: last - 1, problem: expect.stringMatching(/checkpoints cover/) } });
    });

    it('does not believe a checkpoint file forged or edited without the key', async () => {
      const name = readdirSync(checkpointDir)
        .filter((n) => n.endsWith('.json'))
        .sort()[0];
      const path = join(checkpointDir, name);
      const original = readFileSync(path, 'utf8');
      const c = JSON.parse(original);
      c.hashes[0] = 'f'.repeat(64);
      writeFileSync(path, JSON.stringify(c));
      let result;
      try {
        result = await verify();
      } finally {
        writeFileSync(path, original);
      }
      expect(result).toMatchObject({ ok: false, checkpoints: { problems: [`${name} has no valid signature`] } });
      expect(await verify()).toMatchObject({ ok: true, checkpoints: { problems: [] } });
    });
  });
});
