import { randomBytes, randomUUID } from 'crypto';
import { AuditService } from '@hotline/audit';
import { CallOversight } from '@hotline/calls';
import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';
import { withdrawConsentOfCall } from '@hotline/calls/fixtures';

const pseudonym = () => randomBytes(32).toString('hex');
const REASON = 'Caller safety review requested by the shift lead';

/** Parses the CSV our exports write (quoted cells with "" for a quote; no line breaks in cells here). */
function parseCsv(text: string): string[][] {
  return text
    .split('\r\n')
    .filter((l) => l.length)
    .map((line) => {
      const cells: string[] = [];
      let cur = '';
      let quoted = false;
      for (let i = 0; i < line.length; i++) {
        const ch = line[i];
        if (quoted && ch === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = !quoted;
        else if (ch === ',' && !quoted) {
          cells.push(cur);
          cur = '';
        } else cur += ch;
      }
      cells.push(cur);
      return cells;
    });
}

describe('oversight: the audit trail for auditors, and access reports for a breach', () => {
  const records = withRecordsApp();
  const { f } = records;
  let op: TestStaff;
  let sup: TestStaff;
  let auditor: TestStaff;
  let officer: TestStaff;
  const P1 = pseudonym();
  const P2 = pseudonym();
  const P3 = pseudonym();
  const P4 = pseudonym();
  const calls: Record<string, string> = {};
  let start: Date;

  const consent = (callId: string, callerPseudonym: string, granted = true) =>
    records.app
      .get(CallOversight)
      .recordConsent({ callId, callerPseudonym, kind: 'follow_up', granted, wordingVersion: 'test', at: new Date() });

  beforeAll(async () => {
    start = new Date(Date.now() - 1000);
    [op, sup, auditor, officer] = await Promise.all([
      f.staff('operator'),
      f.staff('supervisor'),
      f.staff('auditor'),
      f.staff('records_officer'),
    ]);
    // The operator's calls: two from one caller, one from another, one withheld.
    calls.a = await f.call({ operator: op, callerPseudonym: P1 });
    calls.b = await f.call({ operator: op, callerPseudonym: P1 });
    calls.c = await f.call({ operator: op, callerPseudonym: P2 });
    calls.d = await f.call({ operator: op, callerPseudonym: null });
    // P2 agreed to be contacted again on another call of theirs.
    calls.g = await f.call({ callerPseudonym: P2 });
    await consent(calls.g, P2);
    for (const k of ['a', 'b', 'c', 'd']) {
      await f
        .http()
        .post(`/calls/${calls[k]}/notes`)
        .set(bearer(op))
        .send({ text: `Secret note ${k}: caller talked about the divorce` })
        .expect(201);
      await f.http().get(`/calls/${calls[k]}`).set(bearer(op)).expect(200);
    }
    // Another operator's calls the supervisor reaches: break-glass read of one, a listen-in on another.
    const other = await f.staff('operator');
    calls.e = await f.call({ operator: other, callerPseudonym: P3 });
    calls.f = await f.call({ operator: other, callerPseudonym: P4 });
    await consent(calls.e, P3);
    await consent(calls.f, P4);
    await withdrawConsentOfCall(f.db, calls.f, 'follow_up');
    await f.http().get(`/calls/${calls.e}`).set(bearer(sup)).set('X-Access-Reason', REASON).expect(200);
    // The supervision of live calls (issue 14) audits a listen-in like this; the report matches on the action name.
    await records.app.get(AuditService).append({
      actorId: sup.id,
      actorRole: 'supervisor',
      action: 'call.supervised',
      targetType: 'call',
      targetId: calls.f,
      detail: { mode: 'listen', reason: 'Quality check of a new volunteer' },
    });
  });

  describe('GET /audit/entries', () => {
    it('filters by actor, action prefix and time, newest first, paged by cursor', async () => {
      const first = await f
        .http()
        .get('/audit/entries')
        .query({ actorId: op.id, action: 'note.*', limit: 3 })
        .set(bearer(auditor))
        .expect(200);
      expect(first.body.entries).toHaveLength(3);
      expect(first.body.entries.every((e: any) => e.actorId === op.id && e.action === 'note.added')).toBe(true);
      const seqs = first.body.entries.map((e: any) => e.seq);
      expect([...seqs].sort((x, y) => y - x)).toEqual(seqs);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await f
        .http()
        .get('/audit/entries')
        .query({ actorId: op.id, action: 'note.*', limit: 3, cursor: first.body.nextCursor })
        .set(bearer(auditor))
        .expect(200);
      expect(second.body.entries).toHaveLength(1);
      expect(second.body.nextCursor).toBeNull();
      expect(second.body.entries[0].seq).toBeLessThan(Math.min(...seqs));
      expect(second.body.entries[0].targetId).toBe(calls.a);

      const byTarget = await f.http().get('/audit/entries').query({ targetId: calls.e }).set(bearer(auditor)).expect(200);
      expect(byTarget.body.entries.map((e: any) => e.action)).toEqual(expect.arrayContaining(['call.opened', 'call.break_glass']));
      const none = await f.http().get('/audit/entries').query({ actorId: op.id, to: start.toISOString() }).set(bearer(auditor)).expect(200);
      expect(none.body.entries).toEqual([]);
    });

    it('carries no content and no caller pseudonym', async () => {
      const res = await f.http().get('/audit/entries').query({ limit: 500 }).set(bearer(auditor)).expect(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toMatch(/divorce/);
      for (const p of [P1, P2, P3, P4]) expect(text).not.toContain(p);
      expect(res.body.entries[0]).not.toHaveProperty('pseudonym');
    });

    it('refuses a bad cursor or filter with 400', async () => {
      await f.http().get('/audit/entries').query({ cursor: 'bm9wZQ' }).set(bearer(auditor)).expect(400);
      await f.http().get('/audit/entries').query({ from: 'yesterday' }).set(bearer(auditor)).expect(400);
      await f.http().get('/audit/entries').query({ action: "x' OR 1=1" }).set(bearer(auditor)).expect(400);
    });

    it('exports a search as CSV, and audits the export', async () => {
      const res = await f.http().get('/audit/entries/csv').query({ actorId: sup.id }).set(bearer(auditor)).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/csv/);
      const rows = parseCsv(res.text);
      expect(rows[0]).toEqual(['seq', 'at', 'actorId', 'actorRole', 'action', 'targetType', 'targetId', 'detail']);
      const breakGlass = rows.find((r) => r[4] === 'call.break_glass')!;
      expect(breakGlass[6]).toBe(calls.e);
      expect(JSON.parse(breakGlass[7])).toEqual({ reason: REASON });
      const [exported] = await f.db.query(
        "SELECT actor_id, detail FROM audit_log WHERE action = 'audit.exported' ORDER BY seq DESC LIMIT 1",
      );
      expect(exported.actor_id).toBe(auditor.id);
      const detail = typeof exported.detail === 'string' ? JSON.parse(exported.detail) : exported.detail;
      expect(detail).toMatchObject({ entries: rows.length - 1, filter: { actorId: sup.id } });
    });

    it('is for auditors only', async () => {
      for (const s of [op, sup, officer]) await f.http().get('/audit/entries').set(bearer(s)).expect(403);
      for (const s of [op, sup, officer]) await f.http().get('/audit/entries/csv').set(bearer(s)).expect(403);
    });
  });

  describe('GET /audit/access-report', () => {
    const range = () => ({ from: start.toISOString(), to: new Date(Date.now() + 60_000).toISOString() });

    it("finds a supervisor's break-glass read (with its reason) and listen-in, and counts the callers who can be told", async () => {
      const res = await f
        .http()
        .get('/audit/access-report')
        .query({ staffId: sup.id, ...range() })
        .set(bearer(auditor))
        .expect(200);
      const accesses = res.body.accesses.map((a: any) => [a.callId, a.how, a.access, a.reason]);
      expect(accesses).toEqual([
        [calls.e, 'break_glass', 'read', REASON],
        [calls.f, 'listen_in', 'listen', 'Quality check of a new volunteer'],
      ]);
      // P3 has a follow-up consent; P4 withdrew theirs.
      expect(res.body.callers).toEqual({
        callsFound: 2,
        callsDestroyed: 0,
        callsWithheld: 0,
        distinctCallers: 2,
        canBeTold: 1,
        cannotBeTold: 1,
      });
    });

    it("counts an operator's distinct callers: two calls of one caller are one, a withheld number is one that cannot be told", async () => {
      const res = await f
        .http()
        .get('/audit/access-report')
        .query({ staffId: op.id, ...range() })
        .set(bearer(auditor))
        .expect(200);
      expect(res.body.calls.map((c: any) => c.callId).sort()).toEqual([calls.a, calls.b, calls.c, calls.d].sort());
      expect(new Set(res.body.accesses.map((a: any) => a.how))).toEqual(new Set(['own_call']));
      expect(new Set(res.body.accesses.map((a: any) => a.access))).toEqual(new Set(['read', 'write']));
      // P1 (twice), P2 (consent on another call), one withheld.
      expect(res.body.callers).toMatchObject({ distinctCallers: 3, canBeTold: 1, cannotBeTold: 2, callsWithheld: 1 });
      expect(JSON.stringify(res.body)).not.toMatch(/divorce|[0-9a-f]{64}/);
    });

    it('names everyone who accessed a call, and audits each report', async () => {
      const before = await f.count('audit_log', "action = 'audit.access_report'");
      const res = await f.http().get('/audit/access-report').query({ callId: calls.e }).set(bearer(auditor)).expect(200);
      const who = res.body.staff.map((s: any) => [s.actorId, s.how]);
      expect(who).toEqual(expect.arrayContaining([[sup.id, ['break_glass']]]));
      expect(who.some(([id]: [string]) => id === op.id)).toBe(false);
      expect(res.body.callers.distinctCallers).toBe(1);
      expect(await f.count('audit_log', "action = 'audit.access_report'")).toBe(before + 1);
      const [entry] = await f.db.query(
        "SELECT actor_id, target_type, target_id FROM audit_log WHERE action = 'audit.access_report' ORDER BY seq DESC LIMIT 1",
      );
      expect(entry).toEqual({ actor_id: auditor.id, target_type: 'call', target_id: calls.e });
    });

    it('exports as CSV with the caller counts', async () => {
      const res = await f
        .http()
        .get('/audit/access-report/csv')
        .query({ staffId: sup.id, ...range() })
        .set(bearer(auditor))
        .expect(200);
      const rows = parseCsv(res.text);
      expect(rows[0]).toEqual(['seq', 'at', 'callId', 'actorId', 'actorRole', 'action', 'access', 'how', 'reason']);
      expect(rows.filter((r) => r[7] === 'break_glass').map((r) => r[8])).toEqual([REASON]);
      expect(rows).toEqual(
        expect.arrayContaining([
          ['distinctCallers', '2'],
          ['canBeTold', '1'],
          ['cannotBeTold', '1'],
        ]),
      );
    });

    it('wants a staff member with a range, or a call', async () => {
      await f.http().get('/audit/access-report').set(bearer(auditor)).expect(400);
      await f.http().get('/audit/access-report').query({ staffId: sup.id }).set(bearer(auditor)).expect(400);
      await f.http().get('/audit/access-report').query({ callId: 'nope' }).set(bearer(auditor)).expect(400);
      await f.http().get('/audit/access-report').query({ callId: randomUUID(), staffId: sup.id }).set(bearer(auditor)).expect(400);
      for (const s of [op, sup, officer]) await f.http().get('/audit/access-report').query({ callId: calls.e }).set(bearer(s)).expect(403);
    });
  });
});
