import { Module } from '@nestjs/common';
import { SessionAuthority, StaffModule, SessionLedger } from '@hotline/auth';
import { StaffSecretSeal } from '@hotline/crypto';
import { AuthController } from './auth.controller';
import { SignInController } from './sign-in.controller';
import { BootstrapAdmin } from './bootstrap-admin';
import { LoginThrottle } from './login-throttle';
import { LoginService } from './login.service';
import { PasswordChanges } from './password-changes';
import { Passkeys } from './passkeys';
import { Reauthentication } from './reauthentication';
import { AgreementWatch } from '../agreements/agreement-watch';
import { AgreementsController } from '../agreements/agreements.controller';
import { UsersController } from '../users/users.controller';

/**
 * Staff accounts and sign-in. Exports records' SessionAuthority (SessionLedger, MySQL), which the
 * global AccessGuard asks about every request's session.
 */
@Module({
  imports: [StaffModule],
  controllers: [SignInController, AuthController, UsersController, AgreementsController],
  providers: [
    LoginService,
    LoginThrottle,
    BootstrapAdmin,
    PasswordChanges,
    Passkeys,
    Reauthentication,
    StaffSecretSeal,
    SessionLedger,
    AgreementWatch,
    { provide: SessionAuthority, useExisting: SessionLedger },
  ],
  exports: [SessionAuthority, SessionLedger],
})
export class RecordsAuthModule {}
