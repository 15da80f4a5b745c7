import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password';

/**
 * The local breach list: the ~49,000 most common passwords of published breaches, shipped in
 * @zxcvbn-ts/language-common (no network call; nothing about the password leaves the process).
 */
const BREACHED = new Set<string>((common.dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));

let zxcvbn: ZxcvbnFactory | undefined;
function estimator(): ZxcvbnFactory {
  zxcvbn ??= new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs });
  return zxcvbn;
}

/** Strength zxcvbn must estimate (0 to 4): 3 is "safely unguessable" (about 10^10 guesses). */
export const MIN_PASSWORD_SCORE = 3;

/**
 * Why a new password is refused, or null when it may be used: length, the breach list (as typed
 * and lower-cased), and zxcvbn's estimate with the member's own username and name counted as known.
 */
export function passwordProblem(password: string, userInputs: string[] = []): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  if (BREACHED.has(password.toLowerCase())) return 'that password is on the list of breached passwords: choose another';
  const result = estimator().check(password.slice(0, 100), userInputs.filter(Boolean));
  if (result.score < MIN_PASSWORD_SCORE)
    return `that password is too easy to guess${result.feedback.warning ? ` (${result.feedback.warning})` : ''}: a few unrelated words make a strong one`;
  return null;
}
