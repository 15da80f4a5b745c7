import Redis from 'ioredis';
import { noteField } from '@hotline/calls';
import { ContentCipher, DataKeyDestroyedError, KeystoreService, PseudonymService } from '@hotline/crypto';
import { alertsChannel } from '@hotline/events';
import { dumpAllText, openTestDataSources } from '../support/db';
import { TestStaff, bearer } from '../support/factories';
import { TEST_REDIS_URL } from '../support/test-config';
import { withRecordsApp } from '../support/records-app';
import { leaveOnlyCertificate } from '@hotline/calls/fixtures';

describe('call content in the records app', () => {
  const records = withRecordsApp();
  const { f } = records;
  let op: TestStaff;
  let sup: TestStaff;

  beforeAll(async () => {
    op = await f.staff('operator');
    sup = await f.staff('supervisor');
  });

  it('stores a note encrypted and gives it back to the operator who handled the call', async () => {
    const callId = await f.call({ operator: op });
    const text = 'Caller talked about losing their job; agreed to call back tomorrow evening.';
    const res = await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), createdAt: expect.any(String) });

    const [row] = await f.db.query('SELECT body_enc FROM notes WHERE id = ?', [res.body.id]);
    expect(Buffer.from(row.body_enc).toString('latin1')).not.toContain('losing their job');

    const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
    expect(read.status).toBe(200);
    expect(read.body.notes).toEqual([{ id: res.body.id, text, authorId: op.id, amendsNoteId: null, createdAt: res.body.createdAt }]);
    expect(read.body).toMatchObject({ callId, operatorId: op.id, riskLevel: 'none', legalHold: null, escalations: [] });
  });

  it('keeps notes append-only: an amendment points at the note it corrects and both remain', async () => {
    const callId = await f.call({ operator: op });
    const first = await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'Caller is 17.' });
    const amend = await f
      .http()
      .post(`/calls/${callId}/notes`)
      .set(bearer(op))
      .send({ text: 'Correction: caller is 19.', amendsNoteId: first.body.id });
    expect(amend.status).toBe(201);
    const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
    expect(read.body.notes.map((n: any) => [n.text, n.amendsNoteId])).toEqual([
      ['Caller is 17.', null],
      ['Correction: caller is 19.', first.body.id],
    ]);
    // No route edits or deletes a note.
    for (const method of ['put', 'patch', 'delete'] as const) {
      const r = await f.http()[method](`/calls/${callId}/notes/${first.body.id}`).set(bearer(op)).send({ text: 'x' });
      expect(r.status).toBe(404);
    }
    // An amendment must point at a note of the same call.
    const other = await f.call({ operator: op });
    const bad = await f.http().post(`/calls/${other}/notes`).set(bearer(op)).send({ text: 'x', amendsNoteId: first.body.id });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual(['amendsNoteId']);
    expect(await f.count('notes', 'call_id = ?', [other])).toBe(0);
  });

  it('refuses a ciphertext copied to another call or another note: shown as unavailable, never as ciphertext', async () => {
    const a = await f.call({ operator: op });
    const b = await f.call({ operator: op });
    const secret = 'moved-secret-' + Date.now();
    const na = await f.http().post(`/calls/${a}/notes`).set(bearer(op)).send({ text: secret });
    const nb = await f.http().post(`/calls/${b}/notes`).set(bearer(op)).send({ text: 'note of call b' });
    const na2 = await f.http().post(`/calls/${a}/notes`).set(bearer(op)).send({ text: 'second note of call a' });
    // Another call (same field kind), and another note of the same call (another field).
    await f.db.query('UPDATE notes SET body_enc = (SELECT body_enc FROM (SELECT body_enc FROM notes WHERE id = ?) x) WHERE id IN (?, ?)', [
      na.body.id,
      nb.body.id,
      na2.body.id,
    ]);

    for (const [callId, noteId] of [
      [b, nb.body.id],
      [a, na2.body.id],
    ]) {
      const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
      expect(read.status).toBe(200);
      const note = read.body.notes.find((n: any) => n.id === noteId);
      expect(note).toMatchObject({ id: noteId, text: null, unavailable: true });
      expect(JSON.stringify(note)).not.toContain(secret);
    }
    expect(JSON.stringify((await f.http().get(`/calls/${b}`).set(bearer(op))).body)).not.toContain(secret);
    // The original is still readable where it belongs.
    const own = await f.http().get(`/calls/${a}`).set(bearer(op));
    expect(own.body.notes.find((n: any) => n.id === na.body.id).text).toBe(secret);
  });

  it('leaves every copy unreadable once the call’s key is destroyed (crypto-shredding), and shows no part of the call', async () => {
    const callId = await f.call({ operator: op });
    const note = await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'shred me' }).expect(201);
    await f
      .http()
      .post(`/calls/${callId}/escalations`)
      .set(bearer(op))
      .send({ disclosedTo: 'Ambulance control', legalBasis: 'Vital interests', fieldsDisclosed: ['caller_location'] })
      .expect(201);
    const [copy] = await f.db.query('SELECT body_enc FROM notes WHERE call_id = ?', [callId]);
    const cipher = records.app.get(ContentCipher, { strict: false });
    await expect(cipher.decrypt(callId, noteField(note.body.id), copy.body_enc)).resolves.toBe('shred me');

    // What secure deletion does first, under the call's row lock; here as if it stopped right after.
    await records.app.get(KeystoreService, { strict: false }).destroy(callId);

    // Every copy of the ciphertext (this row, a backup, a binlog) is now noise.
    await expect(cipher.decrypt(callId, noteField(note.body.id), copy.body_enc)).rejects.toBeInstanceOf(DataKeyDestroyedError);
    for (const who of [op, sup]) {
      const read = await f.http().get(`/calls/${callId}`).set(bearer(who));
      expect(read.status).toBe(410);
      expect(read.body).toMatchObject({ statusCode: 410, certificate: null });
      expect(JSON.stringify(read.body)).not.toContain('shred me');
    }
    expect(
      (
        await f
          .http()
          .get(`/calls/${callId}`)
          .set(bearer(await f.staff('operator')))
      ).status,
    ).toBe(404);
    // No new key is made for a call whose content exists: nothing more can be written to it.
    const late = await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'too late' });
    expect(late.status).toBe(410);
    expect(await f.count('notes', 'call_id = ?', [callId])).toBe(1);
    expect(await records.app.get(KeystoreService, { strict: false }).exists(callId)).toBe(false);
  });

  it('answers 410 with the deletion certificate once a call is destroyed, never content', async () => {
    const callId = await f.call({ operator: op });
    await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'soon gone' }).expect(201);
    await f.http().get(`/calls/${callId}`).set(bearer(op)).expect(200);
    // What secure deletion leaves behind (the worker's job does the same, in one transaction).
    await records.app.get(KeystoreService, { strict: false }).destroy(callId);
    await leaveOnlyCertificate(f.db, callId, { steps: [{ step: 'data_key', outcome: 'done', at: new Date().toISOString() }] });
    const outsider = await f.staff('operator');
    const auditor = await f.staff('auditor');
    const officer = await f.staff('records_officer');
    for (const who of [op, sup, auditor, officer]) {
      const res = await f.http().get(`/calls/${callId}`).set(bearer(who));
      expect(res.status).toBe(410);
      expect(res.body).toMatchObject({
        statusCode: 410,
        certificate: { callId, reason: 'retention', retentionPolicy: 'default' },
        correlationId: expect.any(String),
      });
      expect(JSON.stringify(res.body)).not.toContain('soon gone');
    }
    // An operator who never acted on it learns nothing: the 404 of a call that never existed.
    const res = await f.http().get(`/calls/${callId}`).set(bearer(outsider));
    expect(res.status).toBe(404);
    expect((await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: 'x' })).status).toBe(410);
  });

  it('raises retention with the highest risk ever assessed and never shortens it', async () => {
    const startedAt = new Date('2025-01-10T10:00:00.000Z');
    const callId = await f.call({ operator: op, startedAt });
    const put = (riskLevel: string) => f.http().put(`/calls/${callId}/assessment`).set(bearer(op)).send({ riskLevel });
    const low = await put('low');
    expect(low.status).toBe(200);
    expect(low.body).toMatchObject({ callId, riskLevel: 'low', retentionPolicy: 'default', retentionDeadline: '2025-04-10T10:00:00.000Z' });
    const high = await put('high');
    expect(high.body).toMatchObject({ riskLevel: 'high', retentionPolicy: 'high', retentionDeadline: '2026-01-10T10:00:00.000Z' });
    const lower = await put('moderate');
    expect(lower.body).toMatchObject({ riskLevel: 'moderate', retentionPolicy: 'high', retentionDeadline: '2026-01-10T10:00:00.000Z' });
    const [row] = await f.db.query('SELECT risk_level, retention_policy, retention_deadline FROM calls WHERE id = ?', [callId]);
    expect(row).toMatchObject({ risk_level: 'moderate', retention_policy: 'high' });
    expect(new Date(row.retention_deadline).toISOString()).toBe('2026-01-10T10:00:00.000Z');
    const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
    expect(read.body.assessment.riskLevel).toBe('moderate');
    expect(read.body.assessment.history.map((h: any) => h.riskLevel)).toEqual(['low', 'high', 'moderate']);
  });

  describe('imminent risk and duty to warn', () => {
    let sub: Redis;
    const alerts: any[] = [];
    beforeAll(async () => {
      sub = new Redis(TEST_REDIS_URL);
      sub.on('message', (_ch, msg) => alerts.push(JSON.parse(msg)));
      await sub.subscribe(alertsChannel(sub.options.db));
    });
    afterAll(() => sub.quit());
    const alertFor = async (callId: string) => {
      for (let i = 0; i < 100 && !alerts.some((a) => a.alert.callId === callId); i++) await new Promise((r) => setTimeout(r, 20));
      return alerts.filter((a) => a.alert.callId === callId);
    };

    it('an imminent assessment alerts supervisors at once, with ids and the level only', async () => {
      const callId = await f.call({ operator: op });
      await f.http().put(`/calls/${callId}/assessment`).set(bearer(op)).send({ riskLevel: 'imminent' }).expect(200);
      const [msg] = await alertFor(callId);
      expect(msg).toEqual({ type: 'escalation', alert: { callId, operatorId: op.id, riskLevel: 'imminent', at: expect.any(String) } });
      const [row] = await f.db.query('SELECT retention_policy FROM calls WHERE id = ?', [callId]);
      expect(row.retention_policy).toBe('imminent');
    });

    it('records an escalation encrypted, audits it without content, alerts, and takes one co-signature', async () => {
      const callId = await f.call({ operator: op });
      const body = {
        disclosedTo: 'Ambulance control, call handler 4411',
        legalBasis: 'Vital interests: risk to the caller’s life',
        fieldsDisclosed: ['caller_location', 'risk_summary'],
        emergencyContactConfirmedAt: '2025-05-01T21:14:00Z',
        notes: 'Caller at 12 Station Road, took tablets',
      };
      const res = await f.http().post(`/calls/${callId}/escalations`).set(bearer(op)).send(body);
      expect(res.status).toBe(201);
      const escalationId = res.body.id;

      const [row] = await f.db.query('SELECT details_enc, risk_level FROM escalations WHERE id = ?', [escalationId]);
      expect(Buffer.from(row.details_enc).toString('latin1')).not.toContain('Station Road');
      const [call] = await f.db.query('SELECT risk_level, retention_policy FROM calls WHERE id = ?', [callId]);
      expect(call).toEqual({ risk_level: 'imminent', retention_policy: 'imminent' });
      const [entry] = await f.db.query("SELECT detail FROM audit_log WHERE action = 'escalation.created' AND target_id = ?", [callId]);
      const detail = typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail;
      expect(detail).toEqual({ escalationId, fieldsDisclosed: 2 });

      const [msg] = await alertFor(callId);
      expect(msg.alert).toMatchObject({ callId, operatorId: op.id, riskLevel: 'imminent', escalationId });

      const read = await f.http().get(`/calls/${callId}`).set(bearer(op));
      expect(read.body.escalations).toEqual([
        expect.objectContaining({
          id: escalationId,
          ...body,
          emergencyContactConfirmedAt: '2025-05-01T21:14:00.000Z',
          cosignedBy: null,
          cosignedAt: null,
        }),
      ]);

      // The supervisor sees the escalation's id without break-glass, and co-signs it once.
      const list = await f.http().get(`/calls/${callId}/escalations`).set(bearer(sup));
      expect(list.status).toBe(200);
      expect(list.body).toEqual([expect.objectContaining({ id: escalationId, cosignedBy: null })]);
      expect(JSON.stringify(list.body)).not.toContain('Ambulance');
      const cosign = await f.http().post(`/calls/${callId}/escalations/${escalationId}/cosign`).set(bearer(sup)).send({});
      expect(cosign.status).toBe(201);
      expect(cosign.body).toMatchObject({ id: escalationId, cosignedBy: sup.id });
      const again = await f.http().post(`/calls/${callId}/escalations/${escalationId}/cosign`).set(bearer(sup)).send({});
      expect(again.status).toBe(409);
      const wrongCall = await f
        .http()
        .post(`/calls/${await f.call({ operator: op })}/escalations/${escalationId}/cosign`)
        .set(bearer(sup))
        .send({});
      expect(wrongCall.status).toBe(404);
    });

    it('offers only the fixed list of disclosable fields', async () => {
      const callId = await f.call({ operator: op });
      const res = await f
        .http()
        .post(`/calls/${callId}/escalations`)
        .set(bearer(op))
        .send({ disclosedTo: 'Police', legalBasis: 'x', fieldsDisclosed: ['caller_location', 'full_notes'] });
      expect(res.status).toBe(400);
      expect(res.body.fields).toContain('fieldsDisclosed');
      expect(await f.count('escalations', 'call_id = ?', [callId])).toBe(0);
      const docs = await f.http().get('/docs/json');
      expect(docs.body.components.schemas.EscalationDto.properties.fieldsDisclosed.items.enum).toEqual([
        'caller_location',
        'caller_name',
        'phone_number',
        'risk_summary',
        'call_time',
      ]);
    });

    // MariaDB's collation matches ids whatever their case; what is written must still be one id per call.
    it('takes a call id in capitals as the same call, and writes, audits and alerts it in lower case only', async () => {
      const callId = await f.call({ operator: op });
      const UP = callId.toUpperCase();
      const officer = await f.staff('records_officer');
      const note = await f.http().post(`/calls/${UP}/notes`).set(bearer(op)).send({ text: 'Written with the id in capitals' }).expect(201);
      const amendment = await f
        .http()
        .post(`/calls/${UP}/notes`)
        .set(bearer(op))
        .send({ text: 'Corrected', amendsNoteId: note.body.id.toUpperCase() })
        .expect(201);
      expect((await f.http().put(`/calls/${UP}/assessment`).set(bearer(op)).send({ riskLevel: 'imminent' }).expect(200)).body.callId).toBe(
        callId,
      );
      const escalation = await f
        .http()
        .post(`/calls/${UP}/escalations`)
        .set(bearer(op))
        .send({ disclosedTo: 'Police', legalBasis: 'Vital interests', fieldsDisclosed: ['call_time'] })
        .expect(201);
      const cosign = await f
        .http()
        .post(`/calls/${UP}/escalations/${escalation.body.id.toUpperCase()}/cosign`)
        .set(bearer(sup))
        .send({})
        .expect(201);
      expect(cosign.body.id).toBe(escalation.body.id);
      expect(
        (await f.http().post(`/calls/${UP}/legal-hold`).set(bearer(officer)).send({ reason: 'Preservation order' }).expect(201)).body
          .callId,
      ).toBe(callId);
      await f.http().delete(`/calls/${UP}/legal-hold`).set(bearer(officer)).expect(204);

      const read = await f.http().get(`/calls/${UP}`).set(bearer(op)).expect(200);
      expect(read.body.callId).toBe(callId);
      expect(read.body.notes.map((n: any) => [n.id, n.amendsNoteId, n.unavailable ?? false])).toEqual([
        [note.body.id, null, false],
        [amendment.body.id, note.body.id, false],
      ]);

      // BINARY compares bytes: the collation would call an upper-case copy equal.
      const columns: [string, string][] = [
        ['notes', 'call_id'],
        ['risk_assessments', 'call_id'],
        ['escalations', 'call_id'],
        ['legal_holds', 'call_id'],
        ['audit_log', 'target_id'],
      ];
      for (const [table, column] of columns) {
        const [row] = await f.db.query(
          `SELECT COUNT(*) AS n, COALESCE(SUM(BINARY ${column} = ?), 0) AS exact FROM ${table} WHERE ${column} = ?`,
          [callId, callId],
        );
        expect({ table, n: Number(row.n) > 0, exact: Number(row.exact) }).toEqual({ table, n: true, exact: Number(row.n) });
      }
      expect(await f.count('notes', 'BINARY amends_note_id = ?', [note.body.id])).toBe(1);
      expect(await f.count('escalations', 'BINARY id = ? AND cosigned_by IS NOT NULL', [escalation.body.id])).toBe(1);
      expect((await alertFor(callId)).length).toBe(2);
      expect(alerts.filter((a) => a.alert.callId === UP)).toEqual([]);
    });
  });

  describe('legal holds', () => {
    it('a records officer places one hold at a time and lifts it; both are audited', async () => {
      const officer = await f.staff('records_officer');
      const callId = await f.call({ operator: op });
      const placed = await f
        .http()
        .post(`/calls/${callId}/legal-hold`)
        .set(bearer(officer))
        .send({ reason: 'Preservation order 2025/114' });
      expect(placed.status).toBe(201);
      expect(placed.body).toMatchObject({ id: expect.any(String), callId, placedAt: expect.any(String) });
      expect((await f.http().post(`/calls/${callId}/legal-hold`).set(bearer(officer)).send({ reason: 'again' })).status).toBe(409);
      expect((await f.http().get(`/calls/${callId}`).set(bearer(op))).body.legalHold).toEqual({ placedAt: placed.body.placedAt });
      expect((await f.http().delete(`/calls/${callId}/legal-hold`).set(bearer(officer))).status).toBe(204);
      expect((await f.http().delete(`/calls/${callId}/legal-hold`).set(bearer(officer))).status).toBe(404);
      const actions = (await f.db.query('SELECT action, detail FROM audit_log WHERE target_id = ? ORDER BY seq', [callId])).map(
        (r: any) => r.action,
      );
      expect(actions).toEqual(expect.arrayContaining(['legal_hold.placed', 'legal_hold.lifted']));
      const audit = JSON.stringify(await f.db.query('SELECT detail FROM audit_log WHERE target_id = ?', [callId]));
      expect(audit).not.toContain('Preservation order');
      expect(
        (await f.http().post(`/calls/${'00000000-0000-4000-8000-000000000000'}/legal-hold`).set(bearer(officer)).send({ reason: 'x' }))
          .status,
      ).toBe(404);
    });
  });

  it('leaves no note text and no phone number in clear in any table of either database', async () => {
    const number = '+447700900461';
    const pseudonym = records.app.get(PseudonymService, { strict: false }).of(number);
    const callId = await f.call({ operator: op, callerPseudonym: pseudonym });
    const noteText = `Caller (${number}) described the bridge on Canal Street as the place — marker ${Date.now()}`;
    await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).send({ text: noteText }).expect(201);
    await f
      .http()
      .post(`/calls/${callId}/escalations`)
      .set(bearer(op))
      .send({
        disclosedTo: 'Police control room',
        legalBasis: 'Vital interests',
        fieldsDisclosed: ['phone_number', 'caller_location'],
        notes: `Gave ${number} and Canal Street bridge`,
      })
      .expect(201);
    await f.http().put(`/calls/${callId}/assessment`).set(bearer(op)).send({ riskLevel: 'imminent' }).expect(200);
    await f.http().get(`/calls/${callId}`).set(bearer(sup)).set('X-Access-Reason', 'Reviewing the imminent-risk escalation').expect(200);

    const { db, keys, close } = await openTestDataSources();
    try {
      const everything = (await dumpAllText(db)) + '\n' + (await dumpAllText(keys));
      expect(everything).toContain(callId); // the scan does see this call's rows
      for (const leak of [noteText, 'Canal Street', 'Police control room', number, '447700900461', '7700900461', '07700 900461']) {
        expect(everything).not.toContain(leak);
      }
    } finally {
      await close();
    }
  });
});
