import { describeTwilioContractRun, readTwilioContractRun, twilioContractFile } from '../support/twilio-contract';

/**
 * Runs at the very end of the run, right after the log scan (see log-scan-last.sequencer.js): every
 * REST request the Twilio peer received and every webhook delivery checked during the run was recorded
 * (test/support/twilio-contract.ts) against Twilio's own description of its API and its documented
 * webhook parameters. This reports what was checked and fails on every problem, each named once
 * with how often it was seen. A run that checked nothing (a single suite that never reached the
 * peer) passes, and says so.
 */
describe('Twilio contract over the whole run', () => {
  it('found no request or webhook that departs from what Twilio documents', () => {
    const run = readTwilioContractRun();
    const report = describeTwilioContractRun(run);
    console.log(`${report}\n  (record: ${twilioContractFile()})`);
    if (run.problems.length) {
      throw new Error(
        `${run.problems.length} Twilio contract problem(s) in this run:\n` +
          run.problems.map((p) => `  ${p.problem}${p.times > 1 ? `  (x${p.times})` : ''}`).join('\n'),
      );
    }
  });
});
