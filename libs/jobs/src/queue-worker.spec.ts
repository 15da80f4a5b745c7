import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { registry } from '@hotline/observability';
import { JobName, QueueName } from './jobs';
import { JobsRedis } from './jobs-redis';
import { JobHandlers, QueueWorker } from './queue-worker';

class TestWorker extends QueueWorker {
  readonly lastFailures: string[] = [];
  constructor(private readonly impl: (job: Job) => Promise<unknown>) {
    super(new JobsRedis('redis://127.0.0.1:6379/0', 'wait'));
  }
  protected handlers(): JobHandlers {
    return { [JobName.DeleteSms]: (job) => this.impl(job) };
  }
  protected async lastAttemptFailed(job: Job): Promise<void> {
    this.lastFailures.push(String(job.id));
  }
  /** What the BullMQ worker on the sms queue would call. */
  runJob(job: Partial<Job>): Promise<unknown> {
    return (QueueWorker.prototype as unknown as { run(q: QueueName, j: Job): Promise<unknown> }).run.call(this, QueueName.Sms, job as Job);
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

  it('fails a job name it has no handler for', async () => {
    await expect(new TestWorker(async () => undefined).runJob(job({ name: JobName.SendSms, opts: {} }))).rejects.toThrow(
      'unknown job send-sms on the sms queue',
    );
  });
});
