import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from './defaults';

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
}

let cached: Wording | undefined;

export function loadWording(path = join(PROJECT_ROOT, 'config', 'wording.yaml')): Wording {
  if (cached && !process.env.WORDING_FILE) return cached;
  const doc = parse(readFileSync(process.env.WORDING_FILE ?? path, 'utf8')) as Wording;
  for (const k of ['version', 'notice', 'menu', 'wait'] as const) {
    if (!doc?.[k]) throw new Error(`wording file: "${k}" is required`);
  }
  doc.privacy ??= {};
  cached = doc;
  return doc;
}
