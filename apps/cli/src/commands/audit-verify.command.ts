import { Command, CommandRunner, Option } from 'nest-commander';
import { AuditService } from '@hotline/audit';

/** `npm run cli -- audit:verify [--json]`: recomputes the hash chain; exit 1 naming the first bad entry. Read-only. */
@Command({ name: 'audit:verify', description: 'Recompute the audit hash chain and name the first edited, deleted or reordered entry (exit 1 if any)' })
export class AuditVerifyCommand extends CommandRunner {
  constructor(private readonly audit: AuditService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean } = {}): Promise<void> {
    const result = await this.audit.verify();
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.ok) process.stdout.write(`audit chain OK: ${result.entries} entries verified\n`);
    else process.stdout.write(`audit chain BROKEN at entry ${result.firstBadEntry?.seq}: ${result.firstBadEntry?.problem} (${result.entries} entries before it verified)\n`);
    if (!result.ok) process.exitCode = 1;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
