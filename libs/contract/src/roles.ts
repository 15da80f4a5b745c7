/** Staff roles (DESIGN.md, "The people who use it"). A token, an account and every role check use these. */
export const ROLES = ['operator', 'supervisor', 'records_officer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/**
 * What a role may see of a call. Operators read the content of the calls they handled; supervisors
 * read content only with a stated reason (break-glass, audited); every other role sees no content.
 */
export const CONTENT_READERS: readonly Role[] = ['operator', 'supervisor'];
