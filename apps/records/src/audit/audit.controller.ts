import { BadRequestException, Controller, Get, Module, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import type { Response } from 'express';
import { AuditPage, AuditSearch, AuditService, AuditVerification, InvalidAuditCursorError } from '@hotline/audit';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { CallRecordsModule } from '@hotline/calls';
import { ApiErrors } from '../common/api-errors';
import { ApiCsv, sendCsv, toCsv } from '../common/csv';
import { AccessReport, AccessReportService } from './access-report.service';

/** Most entries one CSV export of a search carries. */
export const AUDIT_EXPORT_MAX = 50_000;

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

class AuditFilterQuery {
  @ApiPropertyOptional({ description: 'The acting staff id (or a system name such as `retention`)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  actorId?: string;

  @ApiPropertyOptional({ description: 'An action (`call.break_glass`), or a prefix ending in `*` (`call.*`)', example: 'call.*' })
  @IsOptional()
  @Matches(/^[a-z_.]{1,64}\*?$/, { message: 'action must be an action name, or a prefix ending in *' })
  action?: string;

  @ApiPropertyOptional({ description: 'The id the entry is about (a call, a member of staff, a deletion request)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  targetId?: string;

  @ApiPropertyOptional({ description: 'From this instant (inclusive), ISO 8601' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Up to this instant (exclusive), ISO 8601' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;
}

class AuditEntriesQuery extends AuditFilterQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number from 1 to 500' })
  @Min(1, { message: 'limit must be a whole number from 1 to 500' })
  @Max(500, { message: 'limit must be a whole number from 1 to 500' })
  limit?: number;

  @ApiPropertyOptional({ description: '`nextCursor` from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

class AccessReportQuery {
  @ApiPropertyOptional({ description: 'The member of staff (with from/to): every call they read, wrote or listened to' })
  @IsOptional()
  @IsUUID('all', { message: 'staffId must be a UUID' })
  staffId?: string;

  @ApiPropertyOptional({ description: 'Or one call: everyone who accessed it' })
  @IsOptional()
  @IsUUID('all', { message: 'callId must be a UUID' })
  callId?: string;

  @ApiPropertyOptional({ description: 'From this instant (inclusive), ISO 8601' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Up to this instant (exclusive), ISO 8601' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;
}

class AuditEntryDto {
  @ApiProperty() seq: number;
  @ApiProperty() at: Date;
  @ApiProperty({ nullable: true, type: String }) actorId: string | null;
  @ApiProperty({ nullable: true, type: String }) actorRole: string | null;
  @ApiProperty({ example: 'call.break_glass' }) action: string;
  @ApiProperty({ nullable: true, type: String }) targetType: string | null;
  @ApiProperty({ nullable: true, type: String }) targetId: string | null;
  @ApiProperty({
    nullable: true,
    type: Object,
    description: 'Ids, counts, reasons for access: never content, numbers, names or pseudonyms',
  })
  detail: Record<string, unknown> | null;
}

class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' }) entries: AuditEntryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor: string | null;
}

class CallerReachDto {
  @ApiProperty() callsFound: number;
  @ApiProperty({ description: 'Calls destroyed since: their callers can no longer be known' }) callsDestroyed: number;
  @ApiProperty({ description: 'Calls from withheld numbers (each counted as a caller; none can be told)' }) callsWithheld: number;
  @ApiProperty() distinctCallers: number;
  @ApiProperty({ description: 'Callers with a follow-up consent on record' }) canBeTold: number;
  @ApiProperty() cannotBeTold: number;
}

class AccessEntryDto {
  @ApiProperty() seq: number;
  @ApiProperty() at: Date;
  @ApiProperty() callId: string;
  @ApiProperty({ nullable: true, type: String }) actorId: string | null;
  @ApiProperty({ nullable: true, type: String }) actorRole: string | null;
  @ApiProperty() action: string;
  @ApiProperty({ enum: ['read', 'write', 'listen'] }) access: string;
  @ApiProperty({ enum: ['own_call', 'break_glass', 'listen_in', 'supervision'] }) how: string;
  @ApiProperty({ nullable: true, type: String, description: 'The stated reason (break-glass, listen-in)' }) reason: string | null;
}

class AccessReportDto {
  @ApiProperty() generatedAt: Date;
  @ApiProperty({ nullable: true, type: String }) staffId: string | null;
  @ApiProperty({ nullable: true, type: String }) callId: string | null;
  @ApiProperty({ nullable: true, type: Date }) from: Date | null;
  @ApiProperty({ nullable: true, type: Date }) to: Date | null;
  @ApiProperty({ type: [AccessEntryDto], description: 'Oldest first' }) accesses: AccessEntryDto[];
  @ApiProperty({ type: [Object], description: 'Each call touched once: accesses, how, first and last' }) calls: object[];
  @ApiProperty({ type: [Object], description: 'Each member of staff who touched (call reports)' }) staff: object[];
  @ApiProperty({ type: CallerReachDto }) callers: CallerReachDto;
  @ApiProperty({ description: 'More entries matched than one report reads (50,000)' }) truncated: boolean;
}

const instant = (s?: string) => (s ? new Date(s) : undefined);

@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly search: AuditSearch,
    private readonly reports: AccessReportService,
  ) {}

  @Get('entries')
  @Roles('auditor')
  @ApiOperation({
    summary: 'Search the audit trail (auditor)',
    description:
      'By actor, action (or action prefix `call.*`), target id and time range; newest first, paged by `nextCursor`. Content-free: ids, counts and reasons for access only, never a caller pseudonym.',
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiErrors([400, 401, 403])
  async entries(@Query() q: AuditEntriesQuery): Promise<AuditPage> {
    try {
      return await this.search.page(filterOf(q), q.limit ?? 100, q.cursor);
    } catch (e) {
      if (e instanceof InvalidAuditCursorError)
        throw new BadRequestException({ message: 'cursor is not valid: use nextCursor from a previous page', fields: ['cursor'] });
      throw e;
    }
  }

  @Get('entries/csv')
  @Roles('auditor')
  @ApiOperation({
    summary: 'Export an audit search as CSV (auditor)',
    description: `The same filters as GET /audit/entries; up to ${AUDIT_EXPORT_MAX} entries, newest first. The export itself is audited.`,
  })
  @ApiCsv('seq, at, actorId, actorRole, action, targetType, targetId, detail (JSON)')
  @ApiErrors([400, 401, 403])
  async entriesCsv(@CurrentUser() user: Principal, @Query() q: AuditFilterQuery, @Res() res: Response): Promise<void> {
    const { entries, truncated } = await this.search.all(filterOf(q), AUDIT_EXPORT_MAX);
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'audit.exported',
      detail: { filter: { ...q }, entries: entries.length, truncated },
    });
    sendCsv(
      res,
      'audit-entries.csv',
      toCsv(
        ['seq', 'at', 'actorId', 'actorRole', 'action', 'targetType', 'targetId', 'detail'],
        entries.map((e) => [e.seq, e.at, e.actorId, e.actorRole, e.action, e.targetType, e.targetId, e.detail]),
      ),
    );
  }

  @Get('access-report')
  @Roles('auditor')
  @ApiOperation({
    summary: 'Access report for a breach (auditor)',
    description:
      '`?staffId&from&to`: every call that member of staff read, wrote or listened to, and how (own call, break-glass with its reason, listen-in); or `?callId`: everyone who accessed that call. With the count of distinct callers touched, how many of them could be told (a follow-up consent on record) and how many cannot. The report is itself audited.',
  })
  @ApiOkResponse({ type: AccessReportDto })
  @ApiErrors([400, 401, 403])
  accessReport(@CurrentUser() user: Principal, @Query() q: AccessReportQuery): Promise<AccessReport> {
    return this.reports.report(user, reportQuery(q));
  }

  @Get('access-report/csv')
  @Roles('auditor')
  @ApiOperation({
    summary: 'An access report as CSV (auditor)',
    description: 'One line per access, then the caller counts as `#` lines. Audited like the report.',
  })
  @ApiCsv('seq, at, callId, actorId, actorRole, action, access, how, reason')
  @ApiErrors([400, 401, 403])
  async accessReportCsv(@CurrentUser() user: Principal, @Query() q: AccessReportQuery, @Res() res: Response): Promise<void> {
    const r = await this.reports.report(user, reportQuery(q));
    const body = toCsv(
      ['seq', 'at', 'callId', 'actorId', 'actorRole', 'action', 'access', 'how', 'reason'],
      r.accesses.map((a) => [a.seq, a.at, a.callId, a.actorId, a.actorRole, a.action, a.access, a.how, a.reason]),
    );
    const c = r.callers;
    const summary = toCsv(
      ['summary', 'value'],
      [
        ['calls', r.calls.length],
        ['distinctCallers', c.distinctCallers],
        ['canBeTold', c.canBeTold],
        ['cannotBeTold', c.cannotBeTold],
        ['callsDestroyed', c.callsDestroyed],
        ['callsWithheld', c.callsWithheld],
        ['truncated', r.truncated],
      ],
    );
    sendCsv(res, 'access-report.csv', body + '\r\n' + summary);
  }

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

function filterOf(q: AuditFilterQuery) {
  return { actorId: q.actorId, action: q.action, targetId: q.targetId, from: instant(q.from), to: instant(q.to) };
}

function reportQuery(q: AccessReportQuery) {
  if (!!q.staffId === !!q.callId)
    throw new BadRequestException({ message: 'give either staffId (with from and to) or callId', fields: ['staffId', 'callId'] });
  if (q.staffId && (!q.from || !q.to))
    throw new BadRequestException({ message: 'a staff report needs from and to', fields: ['from', 'to'] });
  return { staffId: q.staffId, callId: q.callId, from: instant(q.from), to: instant(q.to) };
}

@Module({ imports: [CallRecordsModule], controllers: [AuditController], providers: [AccessReportService] })
export class RecordsAuditModule {}
