import { INestApplication } from '@nestjs/common';
import { SecureDeleteService } from '@hotline/retention';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { RetentionScanProcessor } from '../../apps/worker/src/retention/retention-scan.processor';
import { envFor } from '../support/env-for';
import { FakeClock } from '../support/fake-clock';
import { TestStaff, bearer } from '../support/factories';
import { withRecordsApp } from '../support/records-app';
import { startTwilioPeer } from '../support/gateway-app';
import { TwilioPeer } from '../support/twilio-peer';
import { dropRetentionQueue, shortRetentionFile, waitFor } from './retention-support';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const escalationBody = {
  disclosedTo: 'Ambulance service, control room',
  legalBasis: 'Vital interests',
  fieldsDisclosed: ['caller_location'],
};

describe('hourly statistics that outlive deletion', () => {
  const records = withRecordsApp();
  const { f } = records;
  let worker: INestApplication;
  let peer: TwilioPeer;
  const clock = new FakeClock();
  let op: TestStaff;
  let sup: TestStaff;
  // An hour three days ago: nothing else in this run starts a call then.
  const hour = new Date(Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR);
  const ids: string[] = [];

  /** A call started `offsetS` into the hour, answered after `waitS` (or abandoned then), talking `talkS`. */
  async function call(offsetS: number, waitS: number, talkS: number | null, at = hour): Promise<string> {
    const startedAt = new Date(at.getTime() + offsetS * 1000);
    const callId = await f.call({
      operator: talkS === null ? undefined : op,
      startedAt,
      status: talkS === null ? 'abandoned' : 'completed',
    });
    const answeredAt = talkS === null ? null : new Date(startedAt.getTime() + waitS * 1000);
    const endedAt = new Date(startedAt.getTime() + (waitS + (talkS ?? 0)) * 1000);
    await f.db.query('UPDATE calls SET answered_at = ?, ended_at = ? WHERE id = ?', [answeredAt, endedAt, callId]);
    ids.push(callId);
    return callId;
  }

  const stats = async (query: Record<string, string>) =>
    (await f.http().get('/stats/hourly').query(query).set(bearer(sup)).expect(200)).body;
  const hourQuery = () => ({ from: hour.toISOString(), to: new Date(hour.getTime() + HOUR).toISOString() });

  beforeAll(async () => {
    await dropRetentionQueue();
    peer = await startTwilioPeer();
    [op, sup] = await Promise.all([f.staff('operator'), f.staff('supervisor')]);
    const a = await call(60, 12, 240);
    await f.http().put(`/calls/${a}/assessment`).set(bearer(op)).send({ riskLevel: 'high' }).expect(200);
    await f.http().post(`/calls/${a}/escalations`).set(bearer(op)).send(escalationBody).expect(201);
    await call(600, 45, 20 * 60);
    await call(900, 70, null);
    const d = await call(1800, 12, 40);
    await f.http().put(`/calls/${d}/assessment`).set(bearer(op)).send({ riskLevel: 'low' }).expect(200);
    // As the worker's own MySQL account: its grants must let it count what it destroys.
    worker = await createWorkerApp(envFor({ RETENTION_CONFIG: shortRetentionFile(), TWILIO_API_URL: peer.url }, 'worker'), { clock });
    await worker.init();
  });

  afterAll(async () => {
    await worker?.close();
    await dropRetentionQueue();
    await peer?.stop();
  });

  const expected = {
    offered: 4,
    answered: 3,
    abandoned: 1,
    answeredInServiceLevel: 2,
    wait: { '0-10s': 0, '10-30s': 2, '30-60s': 1, '1-2m': 1, '2-5m': 0, '5m+': 0 },
    talk: { '0-1m': 1, '1-5m': 1, '5-15m': 0, '15-30m': 1, '30-60m': 0, '60m+': 0 },
    // The escalation raised the first call to imminent: calls count by the level they ended with.
    riskAssessed: { imminent: 1, low: 1 },
    escalations: 1,
  };

  it('counts settled calls once (the worker scan), and still has them after retention destroyed the calls', async () => {
    // The scan counts calls an hour after they end; running it twice counts nothing twice.
    await worker.get(RetentionScanProcessor).process(clock.now());
    await worker.get(RetentionScanProcessor).process(clock.now());
    const before = await stats(hourQuery());
    expect(before.periods).toHaveLength(1);
    expect(before.periods[0]).toMatchObject({ start: hour.toISOString(), ...expected });

    // Eight years on (the clock is moved, not slept), retention has destroyed every one of them.
    clock.advance(8 * 365 * DAY);
    await waitFor(
      'the calls destroyed',
      async () => (await f.count('deletion_certificates', 'call_id IN (?)', [ids])) === ids.length,
      30_000,
    );
    expect(await f.count('calls', 'id IN (?)', [ids])).toBe(0);

    const after = await stats(hourQuery());
    expect(after.periods[0]).toEqual(before.periods[0]);
  });

  it('counts a call destroyed before any scan counted it, as it is destroyed', async () => {
    const justNow = new Date(Math.floor((Date.now() - 2 * DAY) / HOUR) * HOUR);
    // The clock put back to ten minutes into that hour: a call that ended minutes ago is not settled
    // for the scan, and not expired; only its destruction (by the caller's request) counts it.
    clock.set(new Date(justNow.getTime() + 10 * 60_000));
    const x = await call(30, 8, 100, justNow);
    expect(await worker.get(RetentionScanProcessor).process(clock.now())).toMatchObject({ statsCounted: 0 });
    expect(await f.count('calls', 'id = ? AND stats_counted_at IS NULL', [x])).toBe(1);
    const [outcome] = await worker.get(SecureDeleteService).destroyMany([{ callId: x, reason: 'caller_request' }]);
    expect(outcome.outcome).toBe('destroyed');
    const s = await stats({ from: justNow.toISOString(), to: new Date(justNow.getTime() + HOUR).toISOString() });
    expect(s.periods[0]).toMatchObject({ offered: 1, answered: 1, answeredInServiceLevel: 1, wait: { '0-10s': 1 }, talk: { '1-5m': 1 } });
  });

  it('sums by day and week', async () => {
    // Whole weeks (Monday 00:00 UTC to Monday 00:00 UTC), so both sums cover the very same hours: a
    // window cut mid-week would let the week's bucket count hours (of other suites' calls) the days' left out.
    const monday = (t: number) => {
      const d = new Date(Math.floor(t / DAY) * DAY);
      return d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY;
    };
    const from = new Date(monday(hour.getTime() - 7 * DAY)).toISOString();
    const to = new Date(monday(Date.now()) + 7 * DAY).toISOString();
    const byDay = await stats({ from, to, by: 'day' });
    const day = byDay.periods.find((p: any) => p.start === new Date(Math.floor(hour.getTime() / DAY) * DAY).toISOString());
    expect(day).toMatchObject({ offered: 4, answered: 3, abandoned: 1 });
    const byWeek = await stats({ from, to, by: 'week' });
    expect(byWeek.periods.every((p: any) => new Date(p.start).getUTCDay() === 1)).toBe(true);
    expect(byWeek.periods.reduce((n: number, p: any) => n + p.offered, 0)).toBe(
      byDay.periods.reduce((n: number, p: any) => n + p.offered, 0),
    );
  });

  it('exports CSV with counts under five shown as "<5"', async () => {
    const res = await f.http().get('/stats/hourly/csv').query(hourQuery()).set(bearer(sup)).expect(200);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('period,metric,bucket,count');
    const cell = (metric: string, bucket = '') =>
      lines.find((l) => l.split(',')[1] === metric && l.split(',')[2] === bucket)?.split(',')[3];
    expect(cell('offered')).toBe('<5');
    expect(cell('abandoned')).toBe('<5');
    expect(cell('callbacks')).toBe('0');
    expect(cell('wait', '10-30s')).toBe('<5');
    expect(res.text).not.toMatch(/,4\r\n|,3\r\n|,2\r\n|,1\r\n/);
  });

  it('is for supervisors only, and checks its range', async () => {
    for (const role of ['operator', 'records_officer', 'auditor', 'admin'] as const) {
      const s = await f.staff(role);
      await f.http().get('/stats/hourly').set(bearer(s)).expect(403);
    }
    await f.http().get('/stats/hourly').query({ by: 'month' }).set(bearer(sup)).expect(400);
    await f.http().get('/stats/hourly').query({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }).set(bearer(sup)).expect(400);
  });
});
