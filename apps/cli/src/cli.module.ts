import { DynamicModule, Module } from '@nestjs/common';
import { Env, HotlineConfigModule } from '@hotline/config';
import { AuditModule } from '@hotline/audit';
import { StaffModule } from '@hotline/auth';
import { KeystoreOnDemandModule } from '@hotline/crypto';
import { PersistenceModule } from '@hotline/persistence';
import { AuditVerifyCommand } from './commands/audit-verify.command';
import { KeysRotateCommand } from './commands/keys-rotate.command';
import { UsersCreateCommand } from './commands/users-create.command';
import { RetentionReportCommandModule } from './commands/retention-report.command';
import { TwilioCheckCommandModule } from './commands/twilio-check.command';
import { RedisAclCommand } from './commands/redis-acl.command';

/** Administrative commands over the same libraries as the apps, without HTTP. */
@Module({})
export class CliModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: CliModule,
      imports: [
        HotlineConfigModule.forRoot(env),
        PersistenceModule.forRoot(),
        AuditModule,
        StaffModule,
        KeystoreOnDemandModule,
        RetentionReportCommandModule,
        TwilioCheckCommandModule,
      ],
      providers: [AuditVerifyCommand, KeysRotateCommand, UsersCreateCommand, RedisAclCommand],
    };
  }
}
