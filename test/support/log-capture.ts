import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TEST_ID } from './test-config';

/**
 * Every app's log lines during a test run, in one file, so that the security suite can prove that
 * no phone number, verification code or note text was ever logged. `test/support/env.ts` sets
 * LOG_CAPTURE_FILE for every test process (children inherit it) and the logger appends each line
 * there at debug level and up; `global-setup.ts` empties it once per run. Relative imports only:
 * global setup runs outside jest's module mapping.
 */
export function logCaptureFile(): string {
  return process.env.LOG_CAPTURE_FILE || join(tmpdir(), `hotline-log-capture-${TEST_ID}.jsonl`);
}

const secretsFile = () => logCaptureFile() + '.secrets';

export function resetLogCapture(): void {
  writeFileSync(logCaptureFile(), '');
  writeFileSync(secretsFile(), '');
}

export type SecretKind = 'number' | 'code' | 'note' | 'name';

/**
 * A value a test put into the system that must never appear in a log line (a caller's number, a
 * code sent by SMS, a note's text). The scan at the end of the run looks for each of them verbatim,
 * beside the patterns it looks for anyway.
 */
export function registerSecret(kind: SecretKind, value: string): void {
  if (!value || !process.env.LOG_CAPTURE_FILE) return;
  appendFileSync(secretsFile(), JSON.stringify({ kind, value }) + '\n');
}

export function registeredSecrets(): { kind: SecretKind; value: string }[] {
  if (!existsSync(secretsFile())) return [];
  return readFileSync(secretsFile(), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export function readLogCapture(): string {
  return existsSync(logCaptureFile()) ? readFileSync(logCaptureFile(), 'utf8') : '';
}

export interface Leak {
  kind: string;
  /** The offending part of the line, shortened. */
  match: string;
  line: number;
}

// E.164 as it travels: +4477..., or form-encoded %2B4477...
const E164 = /(?:\+|%2B)[1-9]\d{7,14}\b/g;
// A six-digit run near the word code (a verification code), e.g. "code 123456", "code":"123456": a token of
// its own, not six digits inside an id (a CallSid's hex often holds a run of six decimal digits).
const CODE = /code[^0-9\n]{0,24}(?<![0-9A-Za-z])\d{6}(?![0-9A-Za-z])/gi;

/**
 * What a log text gives away: E.164 numbers and six-digit codes by pattern, and every known secret
 * (registered values and note texts) verbatim, also JSON-escaped as it would be inside a log line.
 */
export function findLeaks(text: string, secrets: { kind: string; value: string }[]): Leak[] {
  const leaks: Leak[] = [];
  const lines = text.split('\n');
  const wanted = secrets
    .filter((s) => s.value.length >= 6)
    .flatMap((s) => {
      const escaped = JSON.stringify(s.value).slice(1, -1);
      return escaped === s.value ? [s] : [s, { kind: s.kind, value: escaped }];
    });
  lines.forEach((line, i) => {
    for (const m of line.matchAll(E164)) leaks.push({ kind: 'phone number', match: m[0], line: i + 1 });
    for (const m of line.matchAll(CODE)) leaks.push({ kind: 'code', match: m[0], line: i + 1 });
    for (const s of wanted) if (line.includes(s.value)) leaks.push({ kind: s.kind, match: s.value.slice(0, 60), line: i + 1 });
  });
  return leaks;
}

/**
 * Note texts written as literals in the test sources (`text: '...'` of 12 characters or more):
 * what the suite posts as notes, found without each test having to register them.
 */
export function noteLiteralsIn(sources: string[]): string[] {
  const found = new Set<string>();
  const literal = /\btext:\s*(['"`])((?:(?!\1)[^\\\n$]|\\.){12,300})\1/g;
  for (const src of sources) for (const m of src.matchAll(literal)) found.add(m[2].replace(/\\(.)/g, '$1'));
  return [...found];
}
