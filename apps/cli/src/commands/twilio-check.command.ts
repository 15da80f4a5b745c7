import { DynamicModule, Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { Env, HotlineConfigModule } from '@hotline/config';
import { TwilioAccountCheck, TwilioCheckReport, TwilioModule } from '@hotline/twilio';

/**
 * `npm run cli -- twilio:check [--json]`: whether the Twilio account is set up for this gateway
 * (credentials, numbers and their URLs, TwiML app, API key, signatures through PUBLIC_URL), without
 * placing a call. One line per check, ok / warn / FAIL; exit 1 when any FAIL. See docs/twilio-check.md.
 */
@Command({
  name: 'twilio:check',
  description:
    "Check the Twilio account's set-up for this gateway (credentials, numbers, TwiML app, API key, signed requests through PUBLIC_URL); places no call; exit 1 on any FAIL",
})
export class TwilioCheckCommand extends CommandRunner {
  constructor(private readonly check: TwilioAccountCheck) {
    super();
  }

  async run(_args: string[], options: { json?: boolean } = {}): Promise<void> {
    const report = await this.check.run();
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderTwilioCheck(report));
    if (!report.ok) process.exitCode = 1;
  }

  @Option({ flags: '--json', description: 'print the checks as JSON' })
  parseJson(): boolean {
    return true;
  }
}

/** One line per check: `ok   `, `warn `, `FAIL `, `skip ` and the message; then the counts. */
export function renderTwilioCheck(report: TwilioCheckReport): string {
  const lines = report.checks.map((c) => `${c.level.padEnd(4)}  ${c.check.padEnd(15)}  ${c.message}`);
  const { ok, warn, FAIL, skip } = report.counts;
  lines.push(`twilio:check: ${FAIL} FAIL, ${warn} warn, ${ok} ok${skip ? `, ${skip} not checked` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** For the CLI module's imports: the command and what it reads (ENV and ROUTING_CONFIG come from the config module). */
@Module({ imports: [TwilioModule], providers: [TwilioAccountCheck, TwilioCheckCommand] })
export class TwilioCheckCommandModule {}

/**
 * The CLI for `twilio:check` alone (main.ts picks it for that command): the configuration and Twilio,
 * no database, so the Twilio set-up can be checked before MySQL is there.
 */
@Module({})
export class TwilioCheckCliModule {
  static forRoot(env: Env): DynamicModule {
    return { module: TwilioCheckCliModule, imports: [HotlineConfigModule.forRoot(env), TwilioCheckCommandModule] };
  }
}
