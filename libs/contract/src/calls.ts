/** Risk levels of an assessment (DESIGN.md, `PUT /calls/:callId/assessment`), lowest first. */
export const RISK_LEVELS = ['none', 'low', 'moderate', 'high', 'imminent'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** A call record's lifecycle status. */
export const CALL_STATUSES = ['queued', 'connected', 'completed', 'abandoned'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];

/**
 * Fields an operator may disclose to emergency services in a duty-to-warn escalation (minimum
 * disclosure): the form offers these and nothing else, and records accepts nothing else.
 */
export const DISCLOSABLE_FIELDS = ['caller_location', 'caller_name', 'phone_number', 'risk_summary', 'call_time'] as const;
export type DisclosableField = (typeof DISCLOSABLE_FIELDS)[number];

/**
 * What a caller may consent to: a recording; being contacted again (follow-up, which is also how
 * the people affected by a breach can be told); their call's structured fields in anonymised
 * research data. Each is asked in the call flow (recording always; the others when configured).
 */
export const CONSENT_KINDS = ['recording', 'follow_up', 'research'] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];
