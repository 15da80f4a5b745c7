const Sequencer = require('@jest/test-sequencer').default;

/**
 * Jest's own order, except that the log scan runs last but one: it checks what every other suite logged;
 * the Twilio contract report (test/security/twilio-contract-last.e2e-spec.ts) comes after it, then the
 * attack ledger's (test/security/attacks-last.e2e-spec.ts).
 */
class LogScanLast extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const last = (t) => /[\\/]test[\\/]security[\\/]log-capture\.e2e-spec\.ts$/.test(t.path);
    // After it, the Twilio contract report: every request and webhook of the run checked, the log scan's own included.
    const contract = (t) => /[\\/]test[\\/]security[\\/]twilio-contract-last\.e2e-spec\.ts$/.test(t.path);
    // And the attack ledger's report: every attack the security suites tried, and how many were refused.
    const attacks = (t) => /[\\/]test[\\/]security[\\/]attacks-last\.e2e-spec\.ts$/.test(t.path);
    const end = (t) => last(t) || contract(t) || attacks(t);
    return [...sorted.filter((t) => !end(t)), ...sorted.filter(last), ...sorted.filter(contract), ...sorted.filter(attacks)];
  }
}

module.exports = LogScanLast;
