import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TEST_ID } from '../../support/test-config';

/**
 * The security suite's ledger of attacks: each attack test says what it tried and whether it was
 * refused (nothing changed), and the last suite of the run (attacks-last.e2e-spec.ts) reports
 * "attacks tried, attacks refused". One JSON line per attack, in a file of the run (emptied by the
 * global set-up).
 */
export interface AttackEntry {
  /** Who attacks, from where: e.g. "gateway's Redis credentials", "an operator's token". */
  as: string;
  /** What was tried, in a few words (no secret, number or token). */
  tried: string;
  refused: boolean;
}

export function attackLedgerFile(): string {
  return process.env.HOTLINE_ATTACK_LEDGER || join(tmpdir(), `hotline-attacks-${TEST_ID}.jsonl`);
}

export function resetAttackLedger(): void {
  writeFileSync(attackLedgerFile(), '');
}

/**
 * Runs an attack: `attempt` resolves to true when the attack was refused and changed nothing (the
 * test's own assertions decide that), false when it got through. Recorded either way, then returned,
 * so the test can `expect(await attack(...)).toBe(true)`. An attempt that throws counts as not refused
 * (the test fails with its error).
 */
export async function attack(as: string, tried: string, attempt: () => Promise<boolean>): Promise<boolean> {
  let refused = false;
  try {
    refused = await attempt();
  } finally {
    appendFileSync(attackLedgerFile(), JSON.stringify({ as, tried, refused } satisfies AttackEntry) + '\n');
  }
  return refused;
}

export function readAttackLedger(): AttackEntry[] {
  if (!existsSync(attackLedgerFile())) return [];
  return readFileSync(attackLedgerFile(), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AttackEntry);
}
