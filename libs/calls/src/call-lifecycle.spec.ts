import { parseRetentionConfig } from '@hotline/config';
import { CallLifecycle, CallRowMissing } from './call-lifecycle';
import { HOLD_IN_FORCE, heldCall } from './legal-holds';

/** A data source that answers every query from `answer` and remembers what it was asked. */
function fakeDb(answer: (sql: string) => unknown) {
  const asked: string[] = [];
  const query = async (sql: string) => {
    asked.push(sql);
    return answer(sql);
  };
  const db = { query, transaction: async (work: (m: unknown) => Promise<unknown>) => work({ query }) };
  return { db: db as any, asked };
}

const retention = parseRetentionConfig(
  'scanEvery: PT1H\npolicies: { default: P90D, high: P1Y, imminent: P7Y }\nrecordings: P30D\ndeletionGrace: P1D\n',
);
const noAudit = { append: async () => 1 } as any;

describe('CallLifecycle', () => {
  it('throws CallRowMissing for an event whose call row is not there yet (the gateway queues it and retries)', async () => {
    const { db } = fakeDb(() => []);
    const life = new CallLifecycle(db, retention, noAudit);
    await expect(life.apply({ kind: 'connected', callId: 'c1', operatorId: 'o1', at: new Date().toISOString() })).rejects.toBeInstanceOf(
      CallRowMissing,
    );
    await expect(life.apply({ kind: 'wrapup', callId: 'c1', operatorId: 'o1', category: null })).rejects.toBeInstanceOf(CallRowMissing);
    await expect(
      life.apply({
        kind: 'recording',
        callId: null,
        callSid: 'CA1',
        recordingSid: 'RE1',
        status: 'completed',
        at: new Date().toISOString(),
      }),
    ).rejects.toBeInstanceOf(CallRowMissing);
  });

  it('has nothing to end for a call known only by its SID that was never opened', async () => {
    const { db, asked } = fakeDb(() => []);
    await new CallLifecycle(db, retention, noAudit).apply({
      kind: 'ended',
      callId: null,
      callSid: 'CA1',
      outcome: 'abandoned',
      at: new Date().toISOString(),
      sequence: 3,
    });
    expect(asked).toHaveLength(1);
  });

  it('does not write an answer twice for the same operator', async () => {
    const { db, asked } = fakeDb((sql) =>
      sql.startsWith('SELECT') ? [{ operator_id: 'o1', answered_at: new Date() }] : { affectedRows: 1 },
    );
    await new CallLifecycle(db, retention, noAudit).answered('c1', 'o1', new Date());
    expect(asked.filter((q) => q.startsWith('UPDATE'))).toEqual([]);
  });
});

describe('a legal hold in force', () => {
  it('is one definition: not lifted', () => {
    expect(HOLD_IN_FORCE).toBe('lifted_at IS NULL');
    expect(heldCall('c.id')).toBe('EXISTS (SELECT 1 FROM legal_holds h WHERE h.call_id = c.id AND h.lifted_at IS NULL)');
  });
});
