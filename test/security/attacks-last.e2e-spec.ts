import { attackLedgerFile, readAttackLedger } from './support/attack-ledger';

/**
 * Runs at the end of the run (log-scan-last.sequencer.js): every attack the security suites tried
 * (test/security/support/attack-ledger.ts), how many were refused, and which got through if any.
 */
describe('attacks over the whole run', () => {
  it('refused every attack tried', () => {
    const ledger = readAttackLedger();
    const refused = ledger.filter((a) => a.refused);
    const through = ledger.filter((a) => !a.refused);
    const by = new Map<string, number>();
    for (const a of ledger) by.set(a.as, (by.get(a.as) ?? 0) + 1);
    console.log(
      `Security: ${ledger.length} attacks tried, ${refused.length} refused` +
        (ledger.length ? `\n${[...by].map(([as, n]) => `  ${as}: ${n}`).join('\n')}` : ' (no attack suite ran)') +
        `\n  (ledger: ${attackLedgerFile()})`,
    );
    if (through.length) throw new Error(`attacks that got through:\n${through.map((a) => `  ${a.as}: ${a.tried}`).join('\n')}`);
  });
});
