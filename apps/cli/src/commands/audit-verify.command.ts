import { Command, CommandRunner, Option } from 'nest-commander';
import { AuditService } from '@hotline/audit';

/** `npm run cli -- audit:verify [--json]`: recomputes the hash chain; exit 1 naming the first bad entry. Read-only. */
@Command({
  name: 'audit:verify',
  description: 'Recompute the audit hash chain and name the first edited, deleted or reordered entry (exit 1 if any)',
})
export class AuditVerifyCommand extends CommandRunner {
  constructor(private readonly audit: AuditService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean } = {}): Promise<void> {
    const result = await this.audit.verify();
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      if (result.ok) process.stdout.write(`audit chain OK: ${result.entries} entries verified\n`);
      else if (result.firstBadEntry)
        process.stdout.write(
          `audit chain BROKEN at entry ${result.firstBadEntry.seq}: ${result.firstBadEntry.problem} (${result.entries} entries before it verified)\n`,
        );
      const c = result.checkpoints;
      if (!c)
        process.stdout.write(
          'signed checkpoints: not configured (AUDIT_CHECKPOINT_PUBLIC_KEY): a rewrite of the whole chain would not be caught\n',
        );
      else
        process.stdout.write(
          `signed checkpoints: ${c.files} file(s) covering entries 1 to ${c.coveredToSeq}${c.problems.length ? `; NOT BELIEVED: ${c.problems.join('; ')}` : ''}\n`,
        );
    }
    if (!result.ok) process.exitCode = 1;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
