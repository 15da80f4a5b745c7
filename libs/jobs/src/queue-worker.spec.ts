import { Logger } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import { registry } from '@hotline/observability';
import { JobName, QueueName } from './jobs';
import { JobsRedis } from './jobs-redis';
import { NotYet, NotYetPolicy, notYetDelayMs, twilioDeletePolicy, twilioDeleteRetryMs } from './not-yet';
import { JobHandlers, QueueWorker } from './queue-worker';

class TestWorker extends QueueWorker {
  readonly lastFailures: string[] = [];
  constructor(
    private readonly impl: (job: Job) => Promise<unknown>,
    notYet?: NotYetPolicy,
  ) {
    super(new JobsRedis('redis://127.0.0.1:6379/0', 'wait'));
    // As `start` keeps it, without a BullMQ worker.
    if (notYet) (this as unknown as { notYetPolicies: Map<QueueName, NotYetPolicy> }).notYetPolicies.set(QueueName.Sms, notYet);
  }
  protected handlers(): JobHandlers {
    return { [JobName.DeleteSms]: (job) => this.impl(job) };
  }
  protected async lastAttemptFailed(job: Job): Promise<void> {
    this.lastFailures.push(String(job.id));
  }
  /** What the BullMQ worker on the sms queue would call. */
  runJob(job: Partial<Job>, token?: string): Promise<unknown> {
    return (QueueWorker.prototype as unknown as { run(q: QueueName, j: Job, t?: string): Promise<unknown> }).run.call(
      this,
      QueueName.Sms,
      job as Job,
      token,
    );
  }
}

const job = (over: Partial<Job> = {}): Partial<Job> => ({
  name: JobName.DeleteSms,
  id: 'delete-sms.SM1',
  data: { messageSid: 'SM1' },
  attemptsMade: 0,
  opts: { attempts: 2 },
  ...over,
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, want]) => String((x.labels as Record<string, unknown>)[k]) === want));
  return v?.value ?? 0;
}

describe(QueueWorker.name, () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('returns the handler result and counts the job as completed', async () => {
    const before = await metric('hotline_jobs_completed_total', { queue: 'sms', job: 'delete-sms' });
    await expect(new TestWorker(async () => ({ outcome: 'deleted' })).runJob(job())).resolves.toEqual({ outcome: 'deleted' });
    expect(await metric('hotline_jobs_completed_total', { queue: 'sms', job: 'delete-sms' })).toBe(before + 1);
  });

  it('rethrows a failure, and hands only the last attempt to lastAttemptFailed', async () => {
    const w = new TestWorker(async () => {
      throw new Error('twilio away');
    });
    await expect(w.runJob(job({ attemptsMade: 0 }))).rejects.toThrow('twilio away');
    expect(w.lastFailures).toEqual([]);
    await expect(w.runJob(job({ attemptsMade: 1 }))).rejects.toThrow('twilio away');
    expect(w.lastFailures).toEqual(['delete-sms.SM1']);
    expect(await metric('hotline_jobs_failed_total', { queue: 'sms', job: 'delete-sms', last: 'true' })).toBeGreaterThanOrEqual(1);
  });

  it('puts back a job whose work cannot be done yet, delayed by its policy, without an attempt spent or a failure; past its rounds it fails with the cause', async () => {
    const policy: NotYetPolicy = { baseMs: 1000, rounds: 2, capMs: 1500 };
    const refusal = Object.assign(new Error('Cannot delete this resource before it is complete'), { status: 409, code: 20009 });
    const w = new TestWorker(async () => {
      throw new NotYet('not yet', { cause: refusal });
    }, policy);
    const moves: number[] = [];
    const data: Record<string, unknown> = { messageSid: 'SM1' };
    const j = job({
      data,
      updateData: async (d: Record<string, unknown>) => void Object.assign(data, d),
      moveToDelayed: async (at: number) => void moves.push(at - Date.now()),
    } as Partial<Job>);
    const failedBefore = await metric('hotline_jobs_failed_total', { queue: 'sms', job: 'delete-sms', last: 'false' });
    await expect(w.runJob(j, 'token')).rejects.toBeInstanceOf(DelayedError);
    await expect(w.runJob(j, 'token')).rejects.toBeInstanceOf(DelayedError);
    expect(data.notYetRounds).toBe(2);
    expect(moves.map((ms) => Math.round(ms / 100) * 100)).toEqual([1000, 1500]);
    expect(await metric('hotline_jobs_failed_total', { queue: 'sms', job: 'delete-sms', last: 'false' })).toBe(failedBefore);
    expect(await metric('hotline_jobs_not_yet_total', { queue: 'sms', job: 'delete-sms' })).toBeGreaterThanOrEqual(2);
    // Rounds spent: an ordinary failure, as what it stands for.
    await expect(w.runJob(j, 'token')).rejects.toBe(refusal);
    // Without a policy (or outside BullMQ, no token) a NotYet is a failure at once.
    await expect(new TestWorker(async () => Promise.reject(new NotYet('not yet', { cause: refusal }))).runJob(job(), 'token')).rejects.toBe(
      refusal,
    );
  });

  it('reads TWILIO_DELETE_RETRY_MS: a minute by default, doubling up to eight times it, and refuses a malformed value', () => {
    expect(twilioDeleteRetryMs({})).toBe(60_000);
    expect(twilioDeleteRetryMs({ TWILIO_DELETE_RETRY_MS: '1500' })).toBe(1500);
    expect(twilioDeleteRetryMs({ TWILIO_DELETE_RETRY_MS: 2000 })).toBe(2000);
    for (const bad of ['1.5s', '-1', '10', '99999999'])
      expect(() => twilioDeleteRetryMs({ TWILIO_DELETE_RETRY_MS: bad })).toThrow('TWILIO_DELETE_RETRY_MS');
    const p = twilioDeletePolicy({});
    expect([0, 1, 2, 3, 4, 7].map((r) => notYetDelayMs(p, r) / 1000)).toEqual([60, 120, 240, 480, 480, 480]);
    expect(p.rounds).toBe(8);
  });

  it('fails a job name it has no handler for', async () => {
    await expect(new TestWorker(async () => undefined).runJob(job({ name: JobName.SendSms, opts: {} }))).rejects.toThrow(
      'unknown job send-sms on the sms queue',
    );
  });
});
