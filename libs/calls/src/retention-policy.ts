import { POLICY_NAMES, PolicyName, RetentionConfig, retentionDeadline } from '@hotline/config';
import type { RiskLevel } from '@hotline/contract';

/** The policy a risk level calls for: a call is kept by the highest risk ever assessed on it. */
export function policyForRisk(level: RiskLevel): PolicyName {
  return level === 'imminent' ? 'imminent' : level === 'high' ? 'high' : 'default';
}

export function strongerPolicy(a: PolicyName, b: PolicyName): PolicyName {
  return POLICY_NAMES.indexOf(a) >= POLICY_NAMES.indexOf(b) ? a : b;
}

/**
 * The retention a call has after an assessment: the stronger of its current policy and the one
 * the new level calls for, and a deadline that is never brought forward (a lower assessment after
 * a higher one keeps the longer retention; so does a changed policy file).
 */
export function retentionAfterAssessment(
  cfg: RetentionConfig,
  current: { policy: PolicyName; deadline: Date; startedAt: Date },
  level: RiskLevel,
): { policy: PolicyName; deadline: Date } {
  const policy = strongerPolicy(POLICY_NAMES.includes(current.policy) ? current.policy : 'default', policyForRisk(level));
  const computed = retentionDeadline(cfg, policy, current.startedAt);
  return { policy, deadline: computed > current.deadline ? computed : current.deadline };
}
