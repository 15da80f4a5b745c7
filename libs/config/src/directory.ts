import { readFileSync } from 'fs';
import { parse } from 'yaml';

/** What an external directory entry is: a transfer to an `emergency` entry links to the call's escalation record. */
export const DIRECTORY_KINDS = ['emergency', 'local_service', 'interpreter', 'helpline', 'other'] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];

export interface DirectoryEntry {
  /** Stable id: what the console sends, and what logs, audit and the call record name. */
  id: string;
  name: string;
  /** E.164. Never logged, never in an audit entry or a record: only Twilio is told it. */
  number: string;
  kind: DirectoryKind;
}

export interface Directory {
  entries: DirectoryEntry[];
  get(id: string): DirectoryEntry | undefined;
}

/** The directory file (`DIRECTORY_FILE`), under this token, loaded once. */
export const DIRECTORY = Symbol('DIRECTORY');

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export function parseDirectory(text: string, origin = 'directory'): Directory {
  let doc: any;
  try {
    doc = parse(text);
  } catch (e) {
    throw new Error(`${origin}: not valid YAML (${(e as Error).message})`, { cause: e });
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.entries)) throw new Error(`${origin}: expected a mapping with an entries list`);
  const problems: string[] = [];
  for (const k of Object.keys(doc)) if (k !== 'entries') problems.push(`${k}: unknown key`);
  const entries: DirectoryEntry[] = [];
  const seen = new Set<string>();
  doc.entries.forEach((e: any, i: number) => {
    const at = `entries[${i}]`;
    if (!e || typeof e !== 'object') return void problems.push(`${at}: expected a mapping with id, name, number, kind`);
    for (const k of Object.keys(e)) if (!['id', 'name', 'number', 'kind'].includes(k)) problems.push(`${at}.${k}: unknown key`);
    if (typeof e.id !== 'string' || !ID.test(e.id)) problems.push(`${at}.id: lower-case letters, digits and -, up to 64`);
    else if (seen.has(e.id)) problems.push(`${at}.id: ${e.id} appears twice`);
    else seen.add(e.id);
    if (typeof e.name !== 'string' || !e.name.trim() || e.name.length > 120) problems.push(`${at}.name: required, up to 120 characters`);
    // The number itself is never repeated in a message (it could be anyone's).
    if (typeof e.number !== 'string' || !E164.test(e.number)) problems.push(`${at}.number: must be an E.164 number (quoted)`);
    if (!DIRECTORY_KINDS.includes(e.kind)) problems.push(`${at}.kind: one of ${DIRECTORY_KINDS.join(', ')}`);
    entries.push({ id: e.id, name: typeof e.name === 'string' ? e.name.trim() : '', number: e.number, kind: e.kind });
  });
  if (problems.length) throw new Error(`${origin}: ${problems.join('; ')}`);
  const byId = new Map(entries.map((e) => [e.id, e]));
  return { entries, get: (id) => byId.get(id) };
}

export function loadDirectory(path: string): Directory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`directory file ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  return parseDirectory(text, `directory file ${path}`);
}
