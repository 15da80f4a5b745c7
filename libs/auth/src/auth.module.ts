import { Global, Module } from '@nestjs/common';
import { StaffService } from './staff.service';
import { TokenService } from './token.service';

@Global()
@Module({ providers: [TokenService], exports: [TokenService] })
export class TokenModule {}

/** Staff accounts (needs the records database and the audit trail). */
@Module({ providers: [StaffService], exports: [StaffService] })
export class StaffModule {}
