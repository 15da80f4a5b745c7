import { randomUUID } from 'crypto';
import { envFor } from '../support/env-for';
import { bearer } from '../support/factories';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';
import { ConsoleClient, connectConsole } from '../support/webhooks';
import { insertCallback, setCallFields } from '@hotline/calls/fixtures';

/** Issue 16: a supervisor hands a leaving operator's calls over to another operator. */
describe('handover', () => {
  const { f } = withRecordsApp();

  async function endedCall(operator: { id: string }): Promise<string> {
    const id = await f.call({ operator });
    await setCallFields(f.db, id, { status: 'completed', endedAt: new Date() });
    return id;
  }

  it('moves need-to-know access to all ended calls at once, leaves live calls, and audits who handed what to whom', async () => {
    const [leaving, taking, sup] = [await f.staff('operator'), await f.staff('operator'), await f.staff('supervisor')];
    const a = await endedCall(leaving);
    const b = await endedCall(leaving);
    const live = await f.call({ operator: leaving });
    await f.http().post(`/calls/${a}/notes`).set(bearer(leaving)).send({ text: 'Caller will ring back on Friday' }).expect(201);
    await f.http().get(`/calls/${a}`).set(bearer(taking)).expect(404);

    const res = await f
      .http()
      .post('/handovers')
      .set(bearer(sup))
      .send({ fromOperatorId: leaving.id, toOperatorId: taking.id, reason: 'Leaves the service at the end of the month' })
      .expect(201);
    expect(res.body.moved.sort()).toEqual([a, b].sort());
    expect(res.body.refused).toEqual([]);

    const read = await f.http().get(`/calls/${a}`).set(bearer(taking)).expect(200);
    expect(read.body.notes[0].text).toBe('Caller will ring back on Friday');
    await f.http().get(`/calls/${a}`).set(bearer(leaving)).expect(404);
    await f.http().get(`/calls/${live}`).set(bearer(leaving)).expect(200);

    const [entry] = await f.db.query(
      "SELECT actor_id, target_id, detail FROM audit_log WHERE action = 'calls.handed_over' AND target_id = ?",
      [leaving.id],
    );
    const detail = typeof entry.detail === 'string' ? JSON.parse(entry.detail) : entry.detail;
    expect(entry.actor_id).toBe(sup.id);
    expect(detail).toMatchObject({ to: taking.id, handoverId: res.body.id });
    expect(detail.callIds.sort()).toEqual([a, b].sort());
    expect(JSON.stringify(detail)).not.toContain('end of the month'); // the reason stays in the handover record
    const [h] = await f.db.query('SELECT reason, by_staff_id, calls_moved FROM handovers WHERE id = ?', [res.body.id]);
    expect(h).toMatchObject({ reason: 'Leaves the service at the end of the month', by_staff_id: sup.id, calls_moved: 2 });
  });

  it('moves the pending callbacks and follow-ups of the calls handed over, not closed ones', async () => {
    const [leaving, taking, sup] = [await f.staff('operator'), await f.staff('operator'), await f.staff('supervisor')];
    const a = await endedCall(leaving);
    const cb = (status: string) => ({ id: randomUUID(), status });
    const pending = cb('open');
    const closed = cb('closed');
    for (const c of [pending, closed])
      await insertCallback(f.db, {
        id: c.id,
        callId: a,
        kind: 'followup',
        status: c.status,
        preferredOperatorId: leaving.id,
        claimedBy: c.status === 'open' ? leaving.id : null,
        dueAt: new Date(),
        maxAttempts: 3,
      });
    const res = await f
      .http()
      .post('/handovers')
      .set(bearer(sup))
      .send({ fromOperatorId: leaving.id, toOperatorId: taking.id, reason: 'Leaving' })
      .expect(201);
    expect(res.body.moved).toEqual([a]);
    const rows: { id: string; preferred_operator_id: string; claimed_by: string | null }[] = await f.db.query(
      'SELECT id, preferred_operator_id, claimed_by FROM callbacks WHERE call_id = ?',
      [a],
    );
    expect(rows.find((r) => r.id === pending.id)).toMatchObject({ preferred_operator_id: taking.id, claimed_by: null });
    expect(rows.find((r) => r.id === closed.id)).toMatchObject({ preferred_operator_id: leaving.id });
    const [entry] = await f.db.query("SELECT detail FROM audit_log WHERE action = 'calls.handed_over' AND target_id = ?", [leaving.id]);
    expect(JSON.stringify(entry.detail)).toContain('callbacks');
  });

  it('moves only the calls chosen, and names those it could not move', async () => {
    const [leaving, taking, other, sup] = [
      await f.staff('operator'),
      await f.staff('operator'),
      await f.staff('operator'),
      await f.staff('supervisor'),
    ];
    const keep = await endedCall(leaving);
    const give = await endedCall(leaving);
    const notTheirs = await endedCall(other);
    const res = await f
      .http()
      .post('/handovers')
      .set(bearer(sup))
      .send({ fromOperatorId: leaving.id, toOperatorId: taking.id, callIds: [give, notTheirs], reason: 'Long leave from Monday' })
      .expect(201);
    expect(res.body).toMatchObject({ moved: [give], refused: [notTheirs] });
    await f.http().get(`/calls/${keep}`).set(bearer(leaving)).expect(200);
    await f.http().get(`/calls/${give}`).set(bearer(taking)).expect(200);
    await f.http().get(`/calls/${notTheirs}`).set(bearer(other)).expect(200);
  });

  it('only supervisors hand over, only to an active operator', async () => {
    const [leaving, taking, sup, admin] = [
      await f.staff('operator'),
      await f.staff('operator'),
      await f.staff('supervisor'),
      await f.staff('admin'),
    ];
    const body = { fromOperatorId: leaving.id, toOperatorId: taking.id, reason: 'Leaves the service' };
    await f.http().post('/handovers').set(bearer(admin)).send(body).expect(403);
    await f.http().post('/handovers').set(bearer(leaving)).send(body).expect(403);
    await f.http().patch(`/users/${taking.id}`).set(bearer(admin)).send({ active: false }).expect(200);
    expect((await f.http().post('/handovers').set(bearer(sup)).send(body).expect(400)).body.fields).toEqual(['toOperatorId']);
    expect(
      (
        await f
          .http()
          .post('/handovers')
          .set(bearer(sup))
          .send({ ...body, toOperatorId: sup.id })
          .expect(400)
      ).body.fields,
    ).toEqual(['toOperatorId']);
  });

  it('shows the supervisor each operator with the ended and live calls they hold, and an operator’s ended calls to choose from', async () => {
    const [leaving, sup] = [await f.staff('operator'), await f.staff('supervisor')];
    const ended = await endedCall(leaving);
    await f.call({ operator: leaving });
    const list = await f.http().get('/handovers/operators').set(bearer(sup)).expect(200);
    expect(list.body.items.find((o: any) => o.id === leaving.id)).toMatchObject({ endedCalls: 1, liveCalls: 1, active: true });
    expect(list.body.items.every((o: any) => o.id !== sup.id)).toBe(true);
    const calls = await f.http().get(`/handovers/operators/${leaving.id}/calls`).set(bearer(sup)).expect(200);
    expect(calls.body.items.map((c: any) => c.callId)).toEqual([ended]);
    expect(Object.keys(calls.body.items[0]).sort()).toEqual(['callId', 'endedAt', 'riskLevel', 'startedAt']);
    await f.http().get(`/handovers/operators/${sup.id}/calls`).set(bearer(sup)).expect(404);
  });

  describe('on two gateway nodes', () => {
    const gateways: GatewayTestApp[] = [];
    const clients: ConsoleClient[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 2; i++) gateways.push(await startGatewayApp(envFor()));
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      for (const g of gateways) await g.app.close();
    });

    it('tells both operators’ consoles at once, whichever node holds them, once each', async () => {
      const [leaving, taking, sup] = [await f.staff('operator'), await f.staff('operator'), await f.staff('supervisor')];
      const callId = await endedCall(leaving);
      const out = await connectConsole(gateways[0].base, '/operator', leaving.token);
      const into = await connectConsole(gateways[1].base, '/operator', taking.token);
      clients.push(out, into);
      const at = Date.now();
      await f
        .http()
        .post('/handovers')
        .set(bearer(sup))
        .send({ fromOperatorId: leaving.id, toOperatorId: taking.id, reason: 'Leaves the service' })
        .expect(201);
      expect(await out.next('calls:reassigned', () => true, { timeoutMs: 1000 })).toEqual({ callIds: [callId], direction: 'out' });
      expect(await into.next('calls:reassigned', () => true, { timeoutMs: 1000 })).toEqual({ callIds: [callId], direction: 'in' });
      expect(Date.now() - at).toBeLessThan(1500);
      await new Promise((r) => setTimeout(r, 300)); // nothing more arrives: each node told only its own sockets
      expect(out.of('calls:reassigned')).toHaveLength(1);
      expect(into.of('calls:reassigned')).toHaveLength(1);
    });
  });
});
