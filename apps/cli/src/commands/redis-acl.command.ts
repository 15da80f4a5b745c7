import { DynamicModule, Module } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { RedisAclError, redisAclFileLines, redisAclSetUserLines, requiredRedisPasswords } from '@hotline/config';

/**
 * `npm run -s cli -- redis:acl [--aclfile]`: one `ACL SETUSER` line for each app's Redis user
 * (`hotline-gateway`, `hotline-records`, `hotline-worker`) for `redis-cli` to apply, from the rules in
 * libs/config/src/redis-acl.ts and the passwords in `REDIS_GATEWAY_PASSWORD`, `REDIS_RECORDS_PASSWORD`,
 * `REDIS_WORKER_PASSWORD` (each required). Passwords are printed as their SHA-256 (`#<hex>`), never in
 * clear. `--aclfile`: the same rules as a Redis ACL file, with the `default` user disabled, or, given
 * `REDIS_ADMIN_PASSWORD`, kept for administration behind that password (compose's redis-acl service).
 * Needs no database and no Redis.
 */
@Command({
  name: 'redis:acl',
  description:
    "Print one ACL SETUSER line per app's Redis user (hotline-gateway, hotline-records, hotline-worker) for redis-cli; passwords from REDIS_GATEWAY_PASSWORD, REDIS_RECORDS_PASSWORD, REDIS_WORKER_PASSWORD",
})
export class RedisAclCommand extends CommandRunner {
  async run(_args: string[], options: { aclfile?: boolean } = {}): Promise<void> {
    let lines: string[];
    try {
      const passwords = requiredRedisPasswords(process.env);
      lines = options.aclfile ? redisAclFileLines(passwords, process.env.REDIS_ADMIN_PASSWORD) : redisAclSetUserLines(passwords);
    } catch (e) {
      if (!(e instanceof RedisAclError)) throw e;
      process.stderr.write(`redis:acl: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }

  @Option({
    flags: '--aclfile',
    description: 'print a Redis ACL file (redis-server --aclfile) instead: the default user disabled, or behind REDIS_ADMIN_PASSWORD',
  })
  parseAclFile(): boolean {
    return true;
  }
}

/** The CLI for `redis:acl` alone (main.ts picks it for that command): no configuration files, no database, no Redis. */
@Module({})
export class RedisAclCliModule {
  static forRoot(): DynamicModule {
    return { module: RedisAclCliModule, providers: [RedisAclCommand] };
  }
}
