import type Redis from 'ioredis';
import type { OperatorStatus, QueueStats } from '@hotline/contract';

/**
 * The wallboard (QueueStats) read from routing's Redis alone, so every gateway node reports the same:
 * the waiting calls (the first 200, longest first), the operators by status, today's counters under `dayKey`.
 */
export async function readQueueStats(redis: Redis, prefix: string, dayKey: string, now: number): Promise<QueueStats> {
  const P = prefix;
  const snap = await redis
    .multi()
    .zrange(P + 'live', 0, 199, 'WITHSCORES')
    .zcard(P + 'live')
    .smembers(P + 'ops')
    .hgetall(P + 'stats:' + dayKey)
    .exec();
  if (!snap) throw new Error('stats snapshot aborted');
  for (const [err] of snap) if (err) throw err;
  const live = snap[0][1] as string[];
  const waiting = snap[1][1] as number;
  const ops = (snap[2][1] as string[]).sort();
  const day = snap[3][1] as Record<string, string>;
  const waitingCalls: NonNullable<QueueStats['waitingCalls']> = [];
  for (let i = 0; i < live.length; i += 2)
    waitingCalls.push({ callId: live[i], waitingSeconds: Math.max(0, Math.floor((now - Number(live[i + 1])) / 1000)) });
  const pipe = redis.pipeline();
  for (const id of ops) pipe.hmget(P + 'op:' + id, 'status', 'since', 'name');
  const rows = ops.length ? ((await pipe.exec()) ?? []) : [];
  const operators = { available: 0, offered: 0, onCall: 0, wrapUp: 0, away: 0 };
  const operatorList: NonNullable<QueueStats['operatorList']> = [];
  rows.forEach(([err, v], i) => {
    if (err) return;
    const [status, since, name] = v as (string | null)[];
    if (!status) return;
    const s = status as OperatorStatus;
    if (s === 'available') operators.available++;
    else if (s === 'offered') operators.offered++;
    else if (s === 'on_call') operators.onCall++;
    else if (s === 'wrap_up') operators.wrapUp++;
    else operators.away++;
    operatorList.push({
      id: ops[i],
      name: name || ops[i].slice(0, 8),
      status: s,
      sinceSeconds: Math.max(0, Math.floor((now - Number(since)) / 1000)),
    });
  });
  const answered = Number(day.answered ?? 0);
  const abandoned = Number(day.abandoned ?? 0);
  const inSl = Number(day.answeredInSl ?? 0);
  return {
    waiting,
    longestWaitSeconds: waitingCalls.length ? waitingCalls[0].waitingSeconds : 0,
    operators,
    answeredToday: answered,
    abandonedToday: abandoned,
    // Share of today's calls that finished waiting (answered or abandoned) answered within the level.
    serviceLevel: answered + abandoned > 0 ? inSl / (answered + abandoned) : null,
    waitingCalls,
    operatorList,
  };
}
