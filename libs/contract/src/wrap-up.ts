/**
 * The wrap-up categories an operator chooses from after a call (the console's wrap-up form). The
 * socket (`wrapup:done`) accepts up to 64 characters of anything; the research export keeps a
 * category from this list and exports anything else as `Other` (apps/records/src/research).
 */
export const WRAP_UP_CATEGORIES = [
  'Emotional support',
  'Suicidal thoughts',
  'Self-harm',
  'Abuse or violence',
  'Relationships or family',
  'Health or addiction',
  'Information or referral',
  'Silent or dropped call',
  'Other',
] as const;
export type WrapUpCategory = (typeof WRAP_UP_CATEGORIES)[number];

export const isWrapUpCategory = (value: unknown): value is WrapUpCategory =>
  typeof value === 'string' && (WRAP_UP_CATEGORIES as readonly string[]).includes(value);
