import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { AppProcess, startAppProcess } from '../support/app-process';
import { openTestDataSources } from '../support/db';
import { Factory, TestStaff, bearer } from '../support/factories';
import { TwilioPeer } from '../support/twilio-peer';
import { CallFactory, SeededCall, countRows, dropRetentionQueue, shortRetentionFile, slowTwilio, waitFor } from '../e2e/retention-support';
import { startRecordsApp } from '../support/records-app';
import { startTwilioPeer } from '../support/gateway-app';

/**
 * The worker is killed with SIGKILL twice in the middle of purging expired calls, and started
 * again each time. Meanwhile a supervisor keeps reading the calls through the records API, as a
 * person would: every answer must be the whole call (every note readable) or 410 with its
 * certificate, never anything in between. In the end every expired call is destroyed once, held
 * calls are whole, and the audit chain verifies. (test/e2e/retention-recovery covers the same
 * crash at the database level; this one watches it from the API.)
 */
type Seen = 'whole' | 'gone' | string;

describe('worker killed with SIGKILL mid-purge', () => {
  let records: INestApplication;
  let f: Factory;
  let supervisor: TestStaff;
  let peer: TwilioPeer;
  let slow: { url: string; close(): Promise<void> };
  let db: DataSource;
  let keys: DataSource;
  let closeDb: () => Promise<void>;
  let calls: CallFactory;
  const workers: AppProcess[] = [];
  const retentionFile = shortRetentionFile({ concurrency: 4, batchSize: 20 });

  beforeAll(async () => {
    await dropRetentionQueue();
    peer = await startTwilioPeer();
    slow = await slowTwilio(peer.url, 15);
    ({ db, keys, close: closeDb } = await openTestDataSources());
    calls = new CallFactory(db, keys);
    ({ app: records, f } = await startRecordsApp());
    supervisor = await f.staff('supervisor');
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await dropRetentionQueue();
    await records?.close();
    await slow?.close();
    await peer?.stop();
    await closeDb?.();
  });

  /** What the API shows a supervisor for one call, reduced to whole / gone / what was wrong. */
  async function look(call: SeededCall): Promise<Seen> {
    const res = await f.http().get(`/calls/${call.callId}`).set(bearer(supervisor)).set('X-Access-Reason', 'retention fault test');
    if (res.status === 410) {
      if (res.body.certificate?.callId === call.callId) return 'gone';
      // A worker killed between the key's destruction and its commit: the call is destroyed in effect
      // (410, certificate null, never a partial call) and the next worker finishes it (checked below).
      return res.body.certificate === null ? 'finishing' : `410 with ${JSON.stringify(res.body.certificate).slice(0, 80)}`;
    }
    if (res.status !== 200) return `${res.status} ${JSON.stringify(res.body).slice(0, 120)}`;
    const texts = res.body.notes.map((n: { text: string | null }) => n.text);
    return JSON.stringify(texts) === JSON.stringify(call.noteTexts) ? 'whole' : `200 with notes ${JSON.stringify(texts).slice(0, 120)}`;
  }

  function startReader(seeded: SeededCall[]) {
    let running = true;
    const seen = { whole: 0, gone: 0, finishing: new Set<string>(), bad: [] as string[] };
    const loop = (async () => {
      for (let i = 0; running; i++) {
        const call = seeded[(i * 7) % seeded.length];
        const s = await look(call);
        if (s === 'whole') seen.whole++;
        else if (s === 'gone') seen.gone++;
        else if (s === 'finishing') seen.finishing.add(call.callId);
        else seen.bad.push(`${call.callId}: ${s}`);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return seen;
      },
    };
  }

  const destroyed = (expired: SeededCall[]) =>
    countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id IN (?)', [expired.map((c) => c.callId)]);
  const worker = () => {
    const w = startAppProcess('worker', { RETENTION_CONFIG: retentionFile, TWILIO_API_URL: slow.url });
    workers.push(w);
    return w;
  };

  it('finishes every deletion after two crashes; readers only ever see whole calls or certificates; holds are kept', async () => {
    const seed = async (n: number, hold: boolean) => {
      const out: SeededCall[] = [];
      for (let i = 0; i < n; i += 20)
        out.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(20, n - i) }, () => calls.seed({ deadlineInMs: -1000, notes: 2, recording: true, hold })),
          )),
        );
      return out;
    };
    const held = await seed(4, true);
    const expired = await seed(160, false);
    const reader = startReader([...held, ...expired]);

    for (const atLeast of [15, 70]) {
      const w = worker();
      try {
        await waitFor(`${atLeast} deletions`, async () => (await destroyed(expired)) >= atLeast, 30_000, 20);
      } finally {
        await w.stop('SIGKILL');
      }
      expect(await destroyed(expired)).toBeLessThan(expired.length); // it really died mid-run
    }
    const last = worker();
    try {
      await waitFor(
        'every expired call destroyed, and its Twilio cleanup done',
        async () =>
          (await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id IN (?)', [expired.map((c) => c.callId)])) === 0 &&
          expired.every((c) => peer.deletedRecordings.includes(c.recordingSid!)),
        40_000,
        200,
      );
    } finally {
      await last.stop('SIGTERM');
    }
    const seen = await reader.stop();
    expect(seen.bad).toEqual([]);
    expect(seen.gone).toBeGreaterThan(0);
    // Every call seen half-way (key gone, rows not yet) was finished: certificate written, rows gone.
    for (const callId of seen.finishing) {
      expect(await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id = ?', [callId])).toBe(1);
      expect(await countRows(db, 'SELECT COUNT(*) FROM calls WHERE id = ?', [callId])).toBe(0);
    }
    expect(seen.whole).toBeGreaterThan(0);

    // Destroyed exactly once each, everywhere; held calls whole and their recordings kept at Twilio.
    expect(await countRows(db, 'SELECT COUNT(*) FROM deletion_certificates WHERE call_id IN (?)', [expired.map((c) => c.callId)])).toBe(
      expired.length,
    );
    expect(await countRows(keys, 'SELECT COUNT(*) FROM data_keys WHERE call_id IN (?)', [expired.map((c) => c.callId)])).toBe(0);
    for (const t of ['notes', 'recordings', 'consents', 'risk_assessments'])
      expect([t, await countRows(db, `SELECT COUNT(*) FROM ${t} WHERE call_id IN (?)`, [expired.map((c) => c.callId)])]).toEqual([t, 0]);
    for (const c of expired) expect(peer.deletedRecordings).toContain(c.recordingSid);
    for (const c of held) {
      expect(await look(c)).toBe('whole');
      expect(peer.deletedRecordings).not.toContain(c.recordingSid);
    }
    for (const c of expired.slice(0, 5)) expect(await look(c)).toBe('gone');
    expect(
      await countRows(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'call.destroyed' AND target_id IN (?)", [
        expired.map((c) => c.callId),
      ]),
    ).toBe(expired.length);
    expect((await new AuditService(db).verify()).ok).toBe(true);
  }, 120_000);
});
