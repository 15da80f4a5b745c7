import { randomUUID } from 'crypto';
import { JobName, JobsRedis, RetentionJobs, jobId } from '@hotline/jobs';
import { envFor } from '../support/env-for';

// No worker runs here: the jobs stay queued, so what the queue holds is what two scans left.
describe('the retention scan queues each expired call once', () => {
  let queue: RetentionJobs;
  const callIds = Array.from({ length: 5 }, () => randomUUID());

  beforeAll(() => {
    queue = new RetentionJobs(new JobsRedis(envFor().REDIS_URL, 'wait'));
  });

  afterAll(async () => {
    for (const id of callIds) await queue.queue.remove(jobId.secureDelete(id)).catch(() => undefined);
    await queue.close();
  });

  it('scans over the same calls (whole pages, then a page of one) leave one secure-delete job per call', async () => {
    const items = callIds.map((callId) => ({ callId, reason: 'retention' as const }));
    await queue.addSecureDeletes(items);
    await queue.addSecureDeletes(items);
    await queue.addSecureDeletes([items[0]]);

    const waiting = await queue.queue.getJobs(['waiting', 'prioritized', 'delayed'], 0, -1);
    const ours = waiting.filter((j) => j.name === JobName.SecureDelete && callIds.includes(j.data.callId));
    expect(ours.map((j) => j.data.callId).sort()).toEqual([...callIds].sort());
    expect(ours.map((j) => j.id).sort()).toEqual(callIds.map((id) => jobId.secureDelete(id)).sort());
    // The job carries the call's id and the reason only: nothing about the caller.
    expect(Object.keys(ours[0].data).sort()).toEqual(['callId', 'reason']);
  });
});
