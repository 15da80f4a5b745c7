import { RetentionReport } from './retention-report.service';

function age(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** The report as a few lines of plain text, for the CLI. */
export function renderRetentionReport(r: RetentionReport): string {
  const lines = [
    `Retention report at ${r.generatedAt} (scan every ${r.scanEvery})`,
    '',
    'policy     duration  calls   held  oldest unheld (age / policy)',
  ];
  for (const p of r.policies) {
    const o = p.oldestUnheld;
    const oldest = o
      ? `${age(o.ageSeconds)} / ${o.policySeconds === null ? '?' : age(o.policySeconds)}${o.withinPolicy ? '' : '  OVER POLICY'}`
      : '-';
    lines.push(
      `${p.policy.padEnd(10)} ${(p.duration ?? '?').padEnd(9)} ${String(p.calls).padStart(5)}  ${String(p.held).padStart(5)}  ${oldest}`,
    );
  }
  lines.push(
    '',
    `overdue calls:        ${r.overdue}${r.overdue ? '  (should be 0)' : ''}`,
    `overdue recordings:   ${r.overdueRecordings}${r.overdueRecordings ? '  (should be 0)' : ''}`,
    `awaiting deletion:    ${r.awaitingDeletion} (deadline passed within the last scan interval)`,
    `left at Twilio:       ${r.twilioCleanup.calls} destroyed call(s) whose Twilio records wait, sealed, for deletion there${r.twilioCleanup.overdue ? '  (OVERDUE: is Twilio reachable?)' : ''}`,
    `legal holds in force: ${r.holdsInForce.holds} on ${r.holdsInForce.calls} call(s)`,
    `deletions:            ${r.deletions.lastDay} in the last day, ${r.deletions.lastWeek} in the last week`,
    `failed deletions:     ${r.failures.lastDay} in the last day, ${r.failures.lastWeek} in the last week`,
    '',
    r.ok ? 'OK: nothing older than its policy remains.' : 'NOT OK: records older than their policy remain (here or at Twilio).',
  );
  return lines.join('\n') + '\n';
}
