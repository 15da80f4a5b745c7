import { INestApplication } from '@nestjs/common';
import { HourlyStats, againOnLockConflict } from '@hotline/calls';
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
import { setCallFields } from '@hotline/calls/fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 00:00 UTC of the week of `t`. */
function periodStartOfWeek(t: Date): Date {
  const day = new Date(Math.floor(t.getTime() / DAY) * DAY);
  return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY);
}
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
  // An hour of a past week that no other call of this run will be counted into: what the statistics may
  // show of an hour is decided under its whole week, so a week where other suites' calls are still to
  // be counted (this one: they are counted when the clock is moved on) would change what it shows.
  let hour: Date;
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
    await againOnLockConflict(() => setCallFields(f.db, callId, { answeredAt, endedAt }));
    ids.push(callId);
    return callId;
  }

  const stats = async (query: Record<string, string>) =>
    (await f.http().get('/stats/hourly').query(query).set(bearer(sup)).expect(200)).body;
  const hourQuery = () => ({ from: hour.toISOString(), to: new Date(hour.getTime() + HOUR).toISOString() });

  /** Three days ago, or a week earlier for as long as that week still has calls not counted. */
  async function quietHour(): Promise<Date> {
    const thisWeek = periodStartOfWeek(new Date());
    for (let at = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR; ; at -= 7 * DAY) {
      const week = periodStartOfWeek(new Date(at));
      if (week.getTime() === thisWeek.getTime()) continue;
      const end = new Date(week.getTime() + 7 * DAY);
      if (!(await f.count('calls', 'started_at >= ? AND started_at < ? AND stats_counted_at IS NULL', [week, end]))) return new Date(at);
    }
  }

  beforeAll(async () => {
    await dropRetentionQueue();
    hour = await quietHour();
    peer = await startTwilioPeer();
    [op, sup] = await Promise.all([f.staff('operator'), f.staff('supervisor')]);
    const a = await call(60, 12, 240);
    await f.http().put(`/calls/${a}/assessment`).set(bearer(op)).send({ riskLevel: 'high' }).expect(200);
    await f.http().post(`/calls/${a}/escalations`).set(bearer(op)).send(escalationBody).expect(201);
    await call(600, 45, 20 * 60);
    await call(900, 70, null);
    const d = await call(1800, 12, 40);
    await f.http().put(`/calls/${d}/assessment`).set(bearer(op)).send({ riskLevel: 'low' }).expect(200);
    // The rest of that week: an ordinary day elsewhere in it (32 calls), so that the week's own figures
    // can be shown and what the hour view withholds is decided around the four calls above.
    const week = periodStartOfWeek(hour);
    const otherDay = new Date(week.getTime() + (hour.getTime() - week.getTime() < DAY ? DAY : 0));
    for (let i = 0; i < 32; i++) await call(i * 1500, [5, 20, 45, 90][i % 4], [30, 200, 600, 1500][(i >> 2) % 4], otherDay);
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
    riskAssessed: { none: 0, low: 1, moderate: 0, high: 0, imminent: 1 },
    escalations: 1,
  };

  /** What the table holds for one hour (every count, before any suppression): the counting itself. */
  async function counted(at: Date): Promise<Record<string, any>> {
    const out: Record<string, any> = { wait: {}, talk: {}, riskAssessed: {} };
    const names: Record<string, string> = { answered_in_service_level: 'answeredInServiceLevel', risk_assessed: 'riskAssessed' };
    for (const r of await records.app.get(HourlyStats).read(at, new Date(at.getTime() + HOUR))) {
      const key = names[r.metric] ?? r.metric;
      if (r.bucket) out[key][r.bucket] = r.n;
      else out[key] = r.n;
    }
    return out;
  }

  const withoutZeros = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).filter(([, n]) => n > 0));

  it('counts settled calls once (the worker scan), and still has them after retention destroyed the calls', async () => {
    // The scan counts calls an hour after they end; running it twice counts nothing twice.
    await worker.get(RetentionScanProcessor).process(clock.now());
    await worker.get(RetentionScanProcessor).process(clock.now());
    const table = await counted(hour);
    expect(table).toMatchObject({
      ...expected,
      wait: withoutZeros(expected.wait),
      talk: withoutZeros(expected.talk),
      riskAssessed: withoutZeros(expected.riskAssessed),
    });
    const before = await stats(hourQuery());
    expect(before.periods).toHaveLength(1);
    expect(before.periods[0].start).toBe(hour.toISOString());
    const dayBefore = await stats({ ...hourQuery(), by: 'day' });

    // Eight years on (the clock is moved, not slept), retention has destroyed every one of them.
    clock.advance(8 * 365 * DAY);
    await waitFor(
      'the calls destroyed',
      async () => (await f.count('deletion_certificates', 'call_id IN (?)', [ids])) === ids.length,
      30_000,
    );
    expect(await f.count('calls', 'id IN (?)', [ids])).toBe(0);

    expect(await counted(hour)).toEqual(table);
    expect((await stats(hourQuery())).periods[0]).toEqual(before.periods[0]);
    expect((await stats({ ...hourQuery(), by: 'day' })).periods).toEqual(dayBefore.periods);
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
    expect(await counted(justNow)).toMatchObject({
      offered: 1,
      answered: 1,
      answeredInServiceLevel: 1,
      wait: { '0-10s': 1 },
      talk: { '1-5m': 1 },
    });
  });

  it('answers whole periods only, and sums days into weeks where every figure is shown', async () => {
    // A range cut mid-week and mid-day: the answer is rounded out to whole weeks (Monday 00:00 UTC).
    const from = new Date(hour.getTime() - 9 * DAY + 5 * HOUR).toISOString();
    const to = new Date(Date.now() - 3 * HOUR).toISOString();
    // The worker of this suite may be counting other suites' calls meanwhile: read the weeks again after
    // the days, until nothing was counted between the two reads.
    let byWeek = await stats({ from, to, by: 'week' });
    let byDay = await stats({ from: byWeek.from, to: byWeek.to, by: 'day' });
    for (let i = 0; i < 10; i++) {
      const again = await stats({ from, to, by: 'week' });
      if (JSON.stringify(again.periods) === JSON.stringify(byWeek.periods)) break;
      byWeek = again;
      byDay = await stats({ from: byWeek.from, to: byWeek.to, by: 'day' });
    }
    expect(new Date(byWeek.from).getUTCDay()).toBe(1);
    expect(new Date(byWeek.to).getUTCDay()).toBe(1);
    expect(byWeek.periods.every((p: any) => new Date(p.start).getUTCDay() === 1 && p.start.endsWith('T00:00:00.000Z'))).toBe(true);
    expect(byDay.periods).toHaveLength(byWeek.periods.length * 7);
    for (const [i, week] of byWeek.periods.entries()) {
      const days = byDay.periods.slice(i * 7, i * 7 + 7);
      for (const metric of ['offered', 'answered', 'abandoned', 'escalations', 'complaintsReceived']) {
        const shown = [week, ...days].filter((p: any) => p[metric] !== null);
        // Never exactly one figure of a sum withheld.
        expect(shown.length).not.toBe(days.length);
        if (shown.length === days.length + 1) expect(days.reduce((n: number, d: any) => n + d[metric], 0)).toBe(week[metric]);
      }
    }
  });

  it('shows small counts as <5 in every format (JSON: null and a flag), the same cells in JSON and CSV', async () => {
    const json = await stats(hourQuery());
    const res = await f.http().get('/stats/hourly/csv').query(hourQuery()).set(bearer(sup)).expect(200);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('period,metric,bucket,count');
    const cell = (metric: string, bucket = '') =>
      lines.find((l) => l.split(',')[1] === metric && l.split(',')[2] === bucket)?.split(',')[3];
    const [p] = json.periods;
    // Four calls: never shown. In this hour view the day's breakdown by hour is withheld around them ("x").
    expect(p.offered).toBeNull();
    expect(['small', 'withheld']).toContain(p.suppressed.offered);
    expect(cell('offered')).toBe(p.suppressed.offered === 'small' ? '<5' : 'x');
    expect(cell('callbacks')).toBe('0');
    expect(p.callbacks).toBe(0);
    const csvNames: Record<string, string> = {
      answeredInServiceLevel: 'answered_in_service_level',
      riskAssessed: 'risk_assessed',
      complaintsReceived: 'complaints_received',
      complaintsResolved: 'complaints_resolved',
    };
    for (const [key, v] of Object.entries(p)) {
      if (key === 'start' || key === 'suppressed') continue;
      const cells =
        v !== null && typeof v === 'object' ? Object.entries(v as object).map(([b, n]) => [`${key}.${b}`, b, n]) : [[key, '', v]];
      for (const [name, bucket, n] of cells as [string, string, number | null][]) {
        const text = cell(csvNames[key] ?? key, bucket);
        if (n === null) expect(text).toBe(p.suppressed[name] === 'small' ? '<5' : 'x');
        else expect([text, n === 0 || n >= 5]).toEqual([String(n), true]);
      }
    }
    expect(res.text).not.toMatch(/,[1-4]\r\n/);
  });

  it('withholds a complement so that a small abandoned count is not offered less answered, nor a wait band the rest of the bands', async () => {
    // A quiet Wednesday long ago: 20 calls, 2 abandoned, and 2 answered calls that waited 10 to 30 s.
    const wednesday = new Date('2024-06-12T00:00:00Z');
    const day: string[] = [];
    for (let i = 0; i < 20; i++) {
      const startedAt = new Date(wednesday.getTime() + (9 + (i % 8)) * HOUR + i * 60_000);
      const abandoned = i < 2;
      const id = await f.call({ operator: abandoned ? undefined : op, startedAt, status: abandoned ? 'abandoned' : 'completed' });
      const waitS = abandoned ? 40 : i < 4 ? 20 : 5;
      await againOnLockConflict(() =>
        setCallFields(f.db, id, {
          answeredAt: abandoned ? null : new Date(startedAt.getTime() + waitS * 1000),
          endedAt: new Date(startedAt.getTime() + (waitS + (abandoned ? 0 : 600)) * 1000),
        }),
      );
      day.push(id);
    }
    // Counted here, or by the worker's scan running meanwhile (which may destroy them too: they are long expired).
    await records.app.get(HourlyStats).countCalls(day);
    const offered = async () =>
      (await records.app.get(HourlyStats).read(wednesday, new Date(wednesday.getTime() + DAY)))
        .filter((r) => r.metric === 'offered')
        .reduce((n, r) => n + r.n, 0);
    await waitFor('the 20 calls counted', async () => (await offered()) === 20, 10_000);
    const range = { from: wednesday.toISOString(), to: new Date(wednesday.getTime() + DAY).toISOString() };
    for (const by of ['day', 'week']) {
      const [p] = (await stats({ ...range, by })).periods;
      expect(p.abandoned).toBeNull();
      expect(p.suppressed.abandoned).toBe('small');
      // offered = answered + abandoned: one of the other two is withheld as well.
      expect(p.offered === null || p.answered === null).toBe(true);
      // The wait bands sum to the calls answered or abandoned: never exactly one of them (and offered) withheld.
      const hidden = [p.offered, ...Object.values(p.wait)].filter((n) => n === null);
      expect(hidden.length).not.toBe(1);
    }
    const csv = await f
      .http()
      .get('/stats/hourly/csv')
      .query({ ...range, by: 'day' })
      .set(bearer(sup))
      .expect(200);
    expect(csv.text).toContain(`${wednesday.toISOString()},abandoned,,<5\r\n`);
    expect(csv.text).toMatch(new RegExp(`${wednesday.toISOString()},(offered|answered),,x\r\n`));
  });

  it('is for supervisors only, and checks its range', async () => {
    for (const role of ['operator', 'records_officer', 'auditor', 'admin'] as const) {
      const s = await f.staff(role);
      await f.http().get('/stats/hourly').set(bearer(s)).expect(403);
    }
    await f.http().get('/stats/hourly').query({ by: 'month' }).set(bearer(sup)).expect(400);
    await f.http().get('/stats/hourly').query({ from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }).set(bearer(sup)).expect(400);
    const long = await f
      .http()
      .get('/stats/hourly')
      .query({ from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z', by: 'hour' })
      .set(bearer(sup))
      .expect(400);
    expect(long.body.message).toMatch(/at most 31 days at a time by hour/);
  });
});
