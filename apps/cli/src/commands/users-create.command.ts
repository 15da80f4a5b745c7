import { Command, CommandRunner, Option } from 'nest-commander';
import { DuplicateUsernameError, MIN_PASSWORD_LENGTH, StaffService } from '@hotline/auth';
import { ROLES, Role } from '@hotline/contract';

/**
 * `npm run cli -- users:create <username> --role <role> [--name "Display name"]`. The password is
 * read from standard input (typed without echo, or piped), never from the command line where
 * shell history and `ps` would keep it.
 */
@Command({
  name: 'users:create',
  arguments: '<username>',
  description: `Create a staff account (roles: ${ROLES.join(', ')}); the password is read from standard input`,
})
export class UsersCreateCommand extends CommandRunner {
  constructor(private readonly staff: StaffService) {
    super();
  }

  async run([username]: string[], options: { role?: Role; name?: string }): Promise<void> {
    if (!options.role || !ROLES.includes(options.role)) {
      process.stderr.write(`--role is required: one of ${ROLES.join(', ')}\n`);
      process.exitCode = 2;
      return;
    }
    const password = await readPassword(`Password for ${username} (${MIN_PASSWORD_LENGTH}+ characters): `);
    try {
      const a = await this.staff.create(
        { username, password, role: options.role, displayName: options.name ?? username },
        { system: 'cli users:create' },
      );
      process.stdout.write(`created ${a.role} ${a.username} (id ${a.id})\n`);
    } catch (e) {
      process.stderr.write(`${e instanceof DuplicateUsernameError ? 'that username is taken' : (e as Error).message}\n`);
      process.exitCode = 1;
    }
  }

  @Option({ flags: '-r, --role <role>', description: `one of ${ROLES.join(', ')}` })
  parseRole(v: string): string {
    return v;
  }

  @Option({ flags: '-n, --name <displayName>', description: 'display name (defaults to the username)' })
  parseName(v: string): string {
    return v;
  }
}

function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return new Promise((resolve, reject) => {
      let data = '';
      stdin.setEncoding('utf8');
      stdin.on('data', (c) => (data += c));
      stdin.on('end', () => resolve(data.split(/\r?\n/)[0]));
      stdin.on('error', reject);
    });
  }
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (ch: string) => {
      for (const c of ch) {
        if (c === '\r' || c === '\n' || c === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(value);
        }
        if (c === '\u0003') process.exit(130);
        value = c === '\u007f' ? value.slice(0, -1) : value + c;
      }
    };
    stdin.on('data', onData);
  });
}
