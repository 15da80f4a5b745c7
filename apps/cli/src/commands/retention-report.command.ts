import { Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { RetentionReportModule, RetentionReportService, renderRetentionReport } from '@hotline/retention';

/**
 * `npm run cli -- retention:report [--json]`: the retention self-test, the same figures as
 * GET /retention/report. Exits 1 when anything older than its policy remains.
 */
@Command({
  name: 'retention:report',
  description: 'Records by policy, oldest unheld call against its policy, overdue (should be 0), holds, recent deletions and failures',
})
export class RetentionReportCommand extends CommandRunner {
  constructor(private readonly reports: RetentionReportService) {
    super();
  }

  async run(_args: string[], options: { json?: boolean } = {}): Promise<void> {
    const report = await this.reports.report();
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderRetentionReport(report));
    if (!report.ok) process.exitCode = 1;
  }

  @Option({ flags: '--json', description: 'print the report as JSON' })
  parseJson(): boolean {
    return true;
  }
}

/** For the CLI module's imports (it provides ENV and the records database, as the apps do). */
@Module({ imports: [RetentionReportModule], providers: [RetentionReportCommand] })
export class RetentionReportCommandModule {}
