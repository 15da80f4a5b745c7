import { Module } from '@nestjs/common';
import { StaffModule } from '@hotline/auth';
import { StaffSecretSeal } from '@hotline/crypto';
import { AuthController } from './auth.controller';
import { BootstrapAdmin } from './bootstrap-admin';
import { LoginThrottle } from './login-throttle';
import { LoginService } from './login.service';
import { PasswordChanges } from './password-changes';
import { Passkeys } from './passkeys';
import { AgreementsController } from '../agreements/agreements.controller';
import { UsersController } from '../users/users.controller';

/** Staff accounts and sign-in. */
@Module({
  imports: [StaffModule],
  controllers: [AuthController, UsersController, AgreementsController],
  providers: [LoginService, LoginThrottle, BootstrapAdmin, PasswordChanges, Passkeys, StaffSecretSeal],
})
export class RecordsAuthModule {}
