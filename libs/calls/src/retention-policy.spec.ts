import { parseRetentionConfig } from '@hotline/config';
import { policyForRisk, retentionAfterAssessment } from './retention-policy';

describe('retention after an assessment', () => {
  const cfg = parseRetentionConfig(
    'scanEvery: PT1H\npolicies: { default: P90D, high: P1Y, imminent: P7Y }\nrecordings: P30D\ndeletionGrace: P1D\n',
  );
  const startedAt = new Date('2025-03-01T12:00:00.000Z');
  const start = { policy: 'default' as const, deadline: new Date('2025-05-30T12:00:00.000Z'), startedAt };

  it('maps risk levels to policies', () => {
    expect(['none', 'low', 'moderate', 'high', 'imminent'].map((l) => policyForRisk(l as any))).toEqual([
      'default',
      'default',
      'default',
      'high',
      'imminent',
    ]);
  });

  it('lengthens retention when the risk rises', () => {
    expect(retentionAfterAssessment(cfg, start, 'high')).toEqual({ policy: 'high', deadline: new Date('2026-03-01T12:00:00.000Z') });
    expect(retentionAfterAssessment(cfg, start, 'imminent')).toEqual({
      policy: 'imminent',
      deadline: new Date('2032-03-01T12:00:00.000Z'),
    });
  });

  it('never shortens it when a lower level follows a higher one', () => {
    const high = retentionAfterAssessment(cfg, start, 'high');
    expect(retentionAfterAssessment(cfg, { ...high, startedAt }, 'none')).toEqual(high);
  });

  it('keeps a deadline that is already later than the policy gives (e.g. the policy file was shortened)', () => {
    const later = new Date('2030-01-01T00:00:00.000Z');
    expect(retentionAfterAssessment(cfg, { policy: 'high', deadline: later, startedAt }, 'high').deadline).toEqual(later);
  });
});
