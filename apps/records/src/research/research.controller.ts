import { BadRequestException, Controller, Get, Inject, Injectable, Module, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';
import type { Response } from 'express';
import { AuditService } from '@hotline/audit';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { CallOversight, CallRecordsModule } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { ApiErrors } from '../common/api-errors';
import { ApiCsv, sendCsv, toCsv } from '../common/csv';
import { RESEARCH_COLUMNS, ResearchRow, SuppressionReport, anonymise } from './anonymise';

const DAY_MS = 86_400_000;

class ResearchQuery {
  @ApiPropertyOptional({ description: 'Calls started from (ISO 8601). Default: a year before `to`' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Calls started before (ISO 8601). Default: now' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;
}

class ResearchRowDto {
  @ApiProperty({ example: '2026-11' }) period: string;
  @ApiProperty({ example: 'evening', description: '`*` when coarsened away' }) partOfDay: string;
  @ApiProperty({ example: 'weekday' }) weekend: string;
  @ApiProperty({ enum: ['answered', 'abandoned'] }) outcome: string;
  @ApiProperty({ example: '<30s' }) wait: string;
  @ApiProperty({ example: '5m-15m' }) talk: string;
  @ApiProperty({ example: 'high' }) risk: string;
  @ApiProperty({ example: 'anxiety' }) category: string;
  @ApiProperty({ enum: ['yes', 'no'] }) escalated: string;
}

class SuppressionReportDto {
  @ApiProperty() k: number;
  @ApiProperty({ description: 'The generalisation level used (0 finest)' }) level: number;
  @ApiProperty() generalisation: string;
  @ApiProperty({ description: 'Consenting calls in the range' }) considered: number;
  @ApiProperty() exported: number;
  @ApiProperty() suppressedRows: number;
  @ApiProperty() suppressedCombinations: number;
  @ApiProperty({ type: [Object] }) levels: { level: number; suppressedRows: number }[];
}

class ResearchExportDto {
  @ApiProperty({ type: [ResearchRowDto] }) rows: ResearchRowDto[];
  @ApiProperty({ type: SuppressionReportDto }) report: SuppressionReportDto;
}

@Injectable()
export class ResearchExportService {
  constructor(
    private readonly calls: CallOversight,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(ENV) private readonly env: Env,
  ) {}

  async export(user: Principal, q: ResearchQuery, format: 'json' | 'csv'): Promise<{ rows: ResearchRow[]; report: SuppressionReport }> {
    const to = q.to ? new Date(q.to) : this.clock.now();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 365 * DAY_MS);
    if (from >= to) throw new BadRequestException({ message: 'from must be before to', fields: ['from', 'to'] });
    const result = anonymise(await this.calls.researchCalls(from, to), this.env.RESEARCH_K);
    const { levels: _levels, generalisation: _g, ...counts } = result.report;
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'research.exported',
      detail: { from: from.toISOString(), to: to.toISOString(), format, ...counts },
    });
    return result;
  }
}

@ApiTags('research')
@ApiBearerAuth()
@Controller('research')
export class ResearchController {
  constructor(private readonly research: ResearchExportService) {}

  @Get('export')
  @Roles('records_officer')
  @ApiOperation({
    summary: 'Anonymised research data (records officer)',
    description:
      'Only ended calls whose caller gave research consent (not withdrawn); structured fields only (no notes, numbers, pseudonyms or ids); times coarsened and rare combinations suppressed so that every row is identical to at least RESEARCH_K - 1 others. With a report of what was suppressed. Audited.',
  })
  @ApiOkResponse({ type: ResearchExportDto })
  @ApiErrors([400, 401, 403])
  export(@CurrentUser() user: Principal, @Query() q: ResearchQuery) {
    return this.research.export(user, q, 'json');
  }

  @Get('export/csv')
  @Roles('records_officer')
  @ApiOperation({
    summary: 'The research data as CSV (records officer)',
    description: 'The rows, then the suppression report as `#` lines. Audited.',
  })
  @ApiCsv(RESEARCH_COLUMNS.join(', '))
  @ApiErrors([400, 401, 403])
  async exportCsv(@CurrentUser() user: Principal, @Query() q: ResearchQuery, @Res() res: Response): Promise<void> {
    const { rows, report } = await this.research.export(user, q, 'csv');
    const body = toCsv(
      RESEARCH_COLUMNS,
      rows.map((r) => RESEARCH_COLUMNS.map((c) => r[c])),
    );
    const summary = Object.entries(report)
      .filter(([key]) => key !== 'levels')
      .map(([key, v]) => `# ${key}: ${v}`)
      .join('\r\n');
    sendCsv(res, 'research-export.csv', body + summary + '\r\n');
  }
}

@Module({ imports: [CallRecordsModule], controllers: [ResearchController], providers: [ResearchExportService] })
export class ResearchModule {}
