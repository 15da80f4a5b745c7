/**
 * The records routes the oversight consoles use (issue 17), reachable through the gateway's `/api`
 * pass-through besides the live console's own (records still checks every token and role).
 */
const ID = '[A-Za-z0-9-]+';
export const OVERSIGHT_CONSOLE_API = new RegExp(
  '^/(' +
    [
      'audit/(verify|entries(/csv)?|access-report(/csv)?)',
      'stats/hourly(/csv)?',
      `complaints(/${ID})?`,
      'research/export(/csv)?',
      'legal-holds',
      'deletion-certificates',
      `deletion-requests(/${ID})?`,
      'retention/report',
      `calls/${ID}/legal-hold`,
    ].join('|') +
    ')$',
);

/** CSV exports may be larger than a console answer: up to this many bytes pass. */
export const EXPORT_PATH = /\/csv$/;
export const MAX_EXPORT_BYTES = 32 * 1024 * 1024;
