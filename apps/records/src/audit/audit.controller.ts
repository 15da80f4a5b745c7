import { Controller, Get, Module } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AuditService, AuditVerification } from '@hotline/audit';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';

class BadEntryDto {
  @ApiProperty() seq: number;
  @ApiProperty({ example: 'content does not match its hash (edited)' }) problem: string;
}

class CheckpointsDto {
  @ApiProperty({ description: 'Checkpoint files found in AUDIT_CHECKPOINT_DIR' }) files: number;
  @ApiProperty({ description: 'The checkpoints believed cover entries 1 to this seq' }) coveredToSeq: number;
  @ApiProperty({ type: [String], description: 'Checkpoint files not believed (unreadable, or no valid signature)' }) problems: string[];
}

class VerificationDto {
  @ApiProperty() ok: boolean;
  @ApiProperty({ description: 'Entries checked good before the first bad one (all of them when ok)' }) entries: number;
  @ApiPropertyOptional({ type: BadEntryDto }) firstBadEntry?: BadEntryDto;
  @ApiPropertyOptional({
    type: CheckpointsDto,
    description:
      'The signed checkpoints kept outside MySQL, when AUDIT_CHECKPOINT_PUBLIC_KEY is set: a rewrite of the whole chain disagrees with them',
  })
  checkpoints?: CheckpointsDto;
}

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get('verify')
  @Roles('auditor')
  @ApiOperation({
    summary: 'Recompute the audit hash chain (auditor)',
    description:
      'Names the first entry that was edited, deleted or reordered, or that disagrees with the signed checkpoints kept outside MySQL (a whole-chain rewrite with recomputed hashes). The check itself is then audited.',
  })
  @ApiOkResponse({ type: VerificationDto })
  @ApiErrors([401, 403])
  async verify(@CurrentUser() user: Principal): Promise<AuditVerification> {
    const result = await this.audit.verify();
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'audit.verified',
      detail: { ok: result.ok, entries: result.entries, ...(result.firstBadEntry ? { firstBadSeq: result.firstBadEntry.seq } : {}) },
    });
    return result;
  }
}

@Module({ controllers: [AuditController] })
export class RecordsAuditModule {}
