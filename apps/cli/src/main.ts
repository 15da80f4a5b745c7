import { CommandFactory } from 'nest-commander';
import { loadEnvOrExit } from '@hotline/config';
import { CliModule } from './cli.module';

/** `npm run cli -- <command>`; `npm run cli -- --help` lists them. */
async function main() {
  const env = loadEnvOrExit('cli', []);
  await CommandFactory.run(CliModule.forRoot(env), {
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
