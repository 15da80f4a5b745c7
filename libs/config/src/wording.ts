import { readFileSync } from 'fs';
import { parse } from 'yaml';

/**
 * What callers hear, versioned: a consent is stored with the version of the words the caller heard.
 * Change the text, change the version.
 */
export interface Wording {
  version: string;
  voice: string;
  language: string;
  notice: string;
  menu: string;
  consentRecorded: string;
  consentDeclined: string;
  wait: string;
  unavailable: string;
  privacy: Record<string, string>;
  /** What the overflow menu, callbacks, voicemail and follow-ups say (`overflow:`). */
  overflow: Record<OverflowWordingKey, string>;
  /**
   * Optional: asked after the recording menu when present (1 yes, anything else or silence no):
   * whether the call's structured fields may go, anonymised, into research data.
   */
  researchQuestion?: string;
  /**
   * Optional: asked next when present: whether the service may contact the caller again (how the
   * people affected by a breach of their records can be told).
   */
  followUpQuestion?: string;
}

/** What a caller hears when offered other ways than waiting (`overflow:`): every entry must be there. */
export const OVERFLOW_WORDING_KEYS = [
  'closed',
  'nobodyAvailable',
  'maxWait',
  'keep_waiting',
  'callback',
  'voicemail',
  'backup_line',
  'keepWaiting',
  'callbackConsent',
  'callbackBooked',
  'callbackWithheld',
  'voicemailConsent',
  'voicemailRecord',
  'voicemailThanks',
  'transferring',
  'notConsented',
  'followupConsent',
] as const;
export type OverflowWordingKey = (typeof OVERFLOW_WORDING_KEYS)[number];

/** The validated wording file (`WORDING_FILE`, default config/wording.yaml), injectable as `@Inject(WORDING)`. */
export const WORDING = Symbol('WORDING');

const TOP_LEVEL = ['version', 'voice', 'language', 'notice', 'menu', 'consentRecorded', 'consentDeclined', 'wait', 'unavailable'] as const;

/** What the privacy line says (`privacy:`): every entry it can play must be there. */
export const PRIVACY_WORDING_KEYS = [
  'menu',
  'withheld',
  'goodbye',
  'codeSent',
  'codeAgain',
  'codeWrong',
  'codeExpired',
  'locked',
  'blocked',
  'smsFailed',
  'unavailable',
  'summary',
  'confirm',
  'deletionRequested',
  'alreadyRequested',
  'notConfirmed',
  'consentWithdrawn',
  'cancelled',
  'nothingToCancel',
] as const;

/** Parses and checks a wording file; the error names every problem (like the environment's). */
export function parseWording(text: string, origin = 'wording file'): Wording {
  let doc: any;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${origin}: not valid YAML (${(e as Error).message})`, { cause: e });
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${origin}: expected a mapping with ${TOP_LEVEL.join(', ')} and privacy`);
  const problems: string[] = [];
  const text_ = (v: unknown) => (typeof v === 'number' ? String(v) : v);
  for (const k of TOP_LEVEL) {
    const v = text_(doc[k]);
    if (typeof v !== 'string' || !v.trim()) problems.push(`${k}: is required (a non-empty text)`);
    else doc[k] = v;
  }
  for (const k of ['researchQuestion', 'followUpQuestion'] as const) {
    if (doc[k] === undefined) continue;
    const v = text_(doc[k]);
    if (typeof v !== 'string' || !v.trim()) problems.push(`${k}: must be a non-empty text when present`);
    else doc[k] = v;
  }
  const privacy = doc.privacy ?? {};
  if (typeof privacy !== 'object' || Array.isArray(privacy)) problems.push('privacy: must be a mapping of texts');
  else {
    for (const k of PRIVACY_WORDING_KEYS) {
      if (typeof privacy[k] !== 'string' || !privacy[k].trim()) problems.push(`privacy.${k}: is required (a non-empty text)`);
    }
    for (const [k, v] of Object.entries(privacy)) if (typeof v !== 'string') problems.push(`privacy.${k}: must be a text`);
  }
  const overflow = doc.overflow ?? {};
  if (typeof overflow !== 'object' || Array.isArray(overflow)) problems.push('overflow: must be a mapping of texts');
  else
    for (const k of OVERFLOW_WORDING_KEYS)
      if (typeof overflow[k] !== 'string' || !overflow[k].trim()) problems.push(`overflow.${k}: is required (a non-empty text)`);
  if (problems.length) throw new Error(`${origin} is invalid:\n  - ${problems.join('\n  - ')}`);
  return { ...doc, privacy, overflow } as Wording;
}

const loaded = new Map<string, Wording>();

/** Reads and checks the wording file once per path. */
export function loadWording(path: string): Wording {
  const hit = loaded.get(path);
  if (hit) return hit;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`WORDING_FILE: cannot read ${path} (${(e as NodeJS.ErrnoException).code})`, { cause: e });
  }
  const w = parseWording(text, `WORDING_FILE (${path})`);
  loaded.set(path, w);
  return w;
}
