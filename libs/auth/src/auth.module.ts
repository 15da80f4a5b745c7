import { Global, Module } from '@nestjs/common';
import { AgreementCatalog } from './agreements';
import { AuthStateKeys } from './auth-state';
import { StaffService } from './staff.service';
import { SessionRegistry } from './sessions';
import { TokenService } from './token.service';

/** Tokens and server-side sessions (needs ENV and REDIS). */
@Global()
@Module({
  providers: [TokenService, SessionRegistry, AgreementCatalog, AuthStateKeys],
  exports: [TokenService, SessionRegistry, AgreementCatalog, AuthStateKeys],
})
export class TokenModule {}

/** Staff accounts (needs the records database and the audit trail). */
@Module({ providers: [StaffService], exports: [StaffService] })
export class StaffModule {}
