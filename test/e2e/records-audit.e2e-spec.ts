import { execFile } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AuditService } from '@hotline/audit';
import { TestStaff, bearer } from '../support/factories';
import { cli as runCli } from '../support/cli';
import { TEST_SECRETS, testEnvVars } from '../support/test-config';
import { startRecordsApp, withRecordsApp } from '../support/records-app';

const ROOT = join(__dirname, '..', '..');

// This suite's own checkpoint directory: what other suites' workers signed does not change its verdicts.
const checkpointDir = mkdtempSync(join(tmpdir(), 'hotline-audit-checkpoints-'));
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { AUDIT_CHECKPOINT_DIR: checkpointDir, ...env });
const NO_CHECKPOINTS = { files: 0, coveredToSeq: 0, problems: [] };

describe('the audit trail', () => {
  const records = withRecordsApp({ AUDIT_CHECKPOINT_DIR: checkpointDir });
  const { f } = records;
  let op: TestStaff;
  let auditor: TestStaff;

  beforeAll(async () => {
    [op, auditor] = await Promise.all([f.staff('operator'), f.staff('auditor')]);
    const callId = await f.call({ operator: op });
    for (const text of ['one', 'two', 'three']) await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text }).expect(201);
  });

  const verify = async () => {
    const res = await f.http().get('/audit/verify').set(bearer(auditor));
    expect(res.status).toBe(200);
    return res.body;
  };
  const entryCount = () => f.count('audit_log');
  const row = async (seq: number) => (await f.db.query('SELECT * FROM audit_log WHERE seq = ?', [seq]))[0];
  const restore = async (r: any) => {
    const cols = Object.keys(r);
    await f.db.query(
      `REPLACE INTO audit_log (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => (c === 'detail' && r[c] !== null && typeof r[c] !== 'string' ? JSON.stringify(r[c]) : r[c])),
    );
  };
  /** A seq in the middle of the chain, with entries after it. */
  const middle = async () => Math.max(2, Math.floor((await entryCount()) / 2));

  it('verifies a chain that nobody touched', async () => {
    const n = await entryCount();
    expect(await verify()).toEqual({ ok: true, entries: n, checkpoints: NO_CHECKPOINTS });
  });

  it('names an edited entry', async () => {
    const seq = await middle();
    const original = await row(seq);
    await f.db.query("UPDATE audit_log SET actor_role = 'admin' WHERE seq = ?", [seq]);
    try {
      expect(await verify()).toMatchObject({ ok: false, firstBadEntry: { seq, problem: expect.stringMatching(/edited/) } });
    } finally {
      await restore(original);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('names a deleted entry', async () => {
    const seq = await middle();
    const original = await row(seq);
    await f.db.query('DELETE FROM audit_log WHERE seq = ?', [seq]);
    try {
      expect(await verify()).toMatchObject({ ok: false, entries: seq - 1, firstBadEntry: { seq } });
    } finally {
      await restore(original);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('names a deleted last entry', async () => {
    const [{ seq: last }] = await f.db.query('SELECT MAX(seq) AS seq FROM audit_log');
    const original = await row(Number(last));
    await f.db.query('DELETE FROM audit_log WHERE seq = ?', [last]);
    try {
      // Deleting the newest entry leaves a chain that is valid as far as it goes; the head says otherwise.
      expect(await verify()).toMatchObject({ ok: false, firstBadEntry: { seq: Number(last) } });
    } finally {
      await restore(original);
    }
  });

  it('names reordered entries', async () => {
    const seq = await middle();
    const a = await row(seq);
    const b = await row(seq + 1);
    // Swap everything but the position.
    await restore({ ...b, seq: a.seq });
    await restore({ ...a, seq: b.seq });
    try {
      expect(await verify()).toMatchObject({ ok: false, firstBadEntry: { seq } });
    } finally {
      await restore(a);
      await restore(b);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('stays one valid chain under 50 concurrent notes', async () => {
    const callId = await f.call({ operator: op });
    const before = await entryCount();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        f
          .http()
          .post(`/calls/${callId}/notes`)
          .set(bearer(op))
          .send({ text: `parallel note ${i}` }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    expect(await f.count('notes', 'call_id = ?', [callId])).toBe(50);
    expect(await f.count('audit_log', "action = 'note.added' AND target_id = ?", [callId])).toBe(50);
    const [{ lo, hi, n }] = await f.db.query('SELECT MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n FROM audit_log WHERE seq > ?', [before]);
    expect(Number(hi) - Number(lo) + 1).toBe(Number(n)); // no gaps, no forks
    expect((await verify()).ok).toBe(true);
    const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
    expect(read.body.notes.map((x: any) => x.text).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `parallel note ${i}`).sort());
  });

  it('appends a batch as consecutive entries in order, amid single appends, and a batch rolled back leaves nothing', async () => {
    const audit = records.app.get(AuditService);
    const batch = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ action: 'test.batch', targetType: 'test', targetId: `${tag}-${i}`, detail: { i } }));
    const callId = await f.call({ operator: op });
    const [seqsA, seqsB, notes] = await Promise.all([
      audit.appendMany(batch('a', 25)),
      f.db.transaction((m) => audit.appendMany(batch('b', 25), m)),
      Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          f
            .http()
            .post(`/calls/${callId}/notes`)
            .set(bearer(op))
            .send({ text: `amid batch ${i}` }),
        ),
      ),
    ]);
    expect(notes.map((r) => r.status)).toEqual(Array(10).fill(201));
    for (const [tag, seqs] of [
      ['a', seqsA],
      ['b', seqsB],
    ] as const) {
      expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => seqs[0] + i));
      const rows = await f.db.query("SELECT seq, target_id FROM audit_log WHERE action = 'test.batch' AND target_id LIKE ? ORDER BY seq", [
        `${tag}-%`,
      ]);
      expect(rows.map((r: any) => [Number(r.seq), r.target_id])).toEqual(seqs.map((s, i) => [s, `${tag}-${i}`]));
    }
    expect(await audit.appendMany([])).toEqual([]);

    const before = await entryCount();
    await expect(
      f.db.transaction(async (m) => {
        await audit.appendMany(batch('rolled-back', 5), m);
        throw new Error('the change this batch records failed');
      }),
    ).rejects.toThrow('failed');
    expect(await entryCount()).toBe(before);
    expect(await verify()).toEqual({ ok: true, entries: before, checkpoints: NO_CHECKPOINTS });
  });

  it('keeps content out of the trail: ids, counts and reasons only', async () => {
    const all = JSON.stringify(await f.db.query('SELECT detail FROM audit_log'));
    for (const text of ['parallel note', '"one"', '"two"']) expect(all).not.toContain(text);
  });

  describe('npm run cli', () => {
    it('audit:verify prints the result and exits 1 naming the first bad entry', async () => {
      const ok = await cli(['audit:verify']);
      expect(ok).toEqual({ code: 0, out: expect.stringMatching(/audit chain OK: \d+ entries/) });
      const seq = await middle();
      const original = await row(seq);
      await f.db.query("UPDATE audit_log SET action = 'call.read' WHERE seq = ?", [seq]);
      try {
        const bad = await cli(['audit:verify']);
        expect(bad.code).toBe(1);
        expect(bad.out).toContain(`BROKEN at entry ${seq}`);
      } finally {
        await restore(original);
      }
    });

    it('keys:rotate re-wraps data keys under a new master key without touching content', async () => {
      const callId = await f.call({ operator: op });
      await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'survives rotation' }).expect(201);
      const notesBefore = await f.db.query('SELECT id, body_enc FROM notes ORDER BY id');
      const NEW_KEY = Buffer.alloc(32, 42).toString('base64');
      const rotated = await cli(['keys:rotate'], { MASTER_KEY: NEW_KEY, MASTER_KEY_OLD: TEST_SECRETS.MASTER_KEY });
      try {
        expect(rotated.code).toBe(0);
        expect(rotated.out).toMatch(/re-wrapped [1-9]\d* data key\(s\).*; 0 remain/);
        expect(await f.db.query('SELECT id, body_enc FROM notes ORDER BY id')).toEqual(notesBefore);
        // An app holding only the new master key reads the note.
        const next = await startRecordsApp({ MASTER_KEY: NEW_KEY });
        try {
          const read = await next.f.http().get(`/calls/${callId}`).set(bearer(op));
          expect(read.body.notes[0].text).toBe('survives rotation');
        } finally {
          await next.close();
        }
      } finally {
        // Back under the test master key, for every other suite of this run.
        const back = await cli(['keys:rotate'], { MASTER_KEY: TEST_SECRETS.MASTER_KEY, MASTER_KEY_OLD: NEW_KEY });
        expect(back.out).toMatch(/0 remain/);
      }
    });

    it('users:create reads the password from standard input and the account can sign in', async () => {
      const username = `cli-made-${Date.now()}`;
      const child = execFile(
        process.execPath,
        ['-r', './scripts/register.js', 'apps/cli/src/main.ts', 'users:create', username, '--role', 'supervisor', '--name', 'Made By CLI'],
        {
          cwd: ROOT,
          env: { ...process.env, ...testEnvVars(), LOG_LEVEL: 'warn' },
        },
      );
      let out = '';
      child.stdout!.on('data', (c) => (out += c));
      child.stdin!.end('a long cli passphrase\n');
      const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
      expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining(`created supervisor ${username}`) });
      const login = await f
        .http()
        .post('/auth/login')
        .set('X-Forwarded-For', '192.0.2.77')
        .send({ username, password: 'a long cli passphrase' });
      expect(login.status).toBe(200);
      expect(login.body.user.role).toBe('supervisor');
    });
  });
});
