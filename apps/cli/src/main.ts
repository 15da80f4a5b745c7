import { CommandFactory } from 'nest-commander';
import { loadEnvOrExit } from '@hotline/config';
import { CliModule } from './cli.module';
import { TwilioCheckCliModule } from './commands/twilio-check.command';
import { RedisAclCliModule } from './commands/redis-acl.command';

/** `npm run cli -- <command>`; `npm run cli -- --help` lists them. */
async function main() {
  const env = loadEnvOrExit('cli', []);
  // twilio:check needs no database: it runs without one, so Twilio can be set up before MySQL is there.
  // redis:acl needs neither a database nor Redis: it prints the app users' rules for redis-cli.
  const command = process.argv[2];
  const root =
    command === 'twilio:check'
      ? TwilioCheckCliModule.forRoot(env)
      : command === 'redis:acl'
        ? RedisAclCliModule.forRoot()
        : CliModule.forRoot(env);
  await CommandFactory.run(root, {
    logger: ['error', 'warn'],
    errorHandler: (err) => {
      // commander's own exits (--help, --version, unknown command) carry their exit code.
      const code = (err as { exitCode?: number }).exitCode;
      if (code !== undefined) process.exit(code);
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
    serviceErrorHandler: (err) => {
      process.stderr.write(`command failed: ${err.message}\n`);
      process.exitCode = 1;
    },
  });
}

main().catch((e) => {
  process.stderr.write(`[cli] ${e?.message ?? e}\n`);
  process.exit(1);
});
