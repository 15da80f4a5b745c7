const Sequencer = require('@jest/test-sequencer').default;

/** Jest's own order, except that the log scan runs last: it checks what every other suite logged. */
class LogScanLast extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const last = (t) => /[\\/]test[\\/]security[\\/]log-capture\.e2e-spec\.ts$/.test(t.path);
    return [...sorted.filter((t) => !last(t)), ...sorted.filter(last)];
  }
}

module.exports = LogScanLast;
