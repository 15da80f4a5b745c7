import { BadRequestException, Controller, Get, Module, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { Response } from 'express';
import { CurrentUser, Principal, Roles } from '@hotline/auth';
import { CallRecordsModule } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { ApiErrors } from '../common/api-errors';
import { ApiCsv, sendCsv, toCsv } from '../common/csv';
import { RESEARCH_COLUMNS } from './anonymise';
import { PERIOD_FORMAT, PeriodKind, ReleasePeriod, latestReleased, parsePeriod, periodsBetween, released } from './periods';
import { ResearchExport, ResearchReleases } from './release';

/** The most periods one export may hold: three years. */
const MAX_PERIODS: Record<PeriodKind, number> = { month: 36, week: 157 };

const RULES =
  'Research data is released by whole periods only: calendar months (`2025-03`), or ISO weeks (`2025-W10`) when RESEARCH_PERIOD=week, in UTC; ' +
  'a period from a day after its end (its calls ended and wrapped up). Each period is anonymised on its own calls (every row identical to at least RESEARCH_K - 1 others of the same period) ' +
  'and keeps the content of its first release: a period that has changed since (calls destroyed or consents withdrawn) is withheld, and so is one that overlaps a period released under the other RESEARCH_PERIOD; ' +
  'a period with fewer than RESEARCH_K consenting calls exports nothing. So any two exports differ by whole periods, each k-anonymous by itself, never by a few calls.';

class ResearchQuery {
  @ApiPropertyOptional({
    description: 'One period: `YYYY-MM` (or `YYYY-Www` with RESEARCH_PERIOD=week). Not with from/to',
    example: '2025-03',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  period?: string;

  @ApiPropertyOptional({ description: 'The first period of a range (included). Default: `to`', example: '2025-01' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  from?: string;

  @ApiPropertyOptional({ description: 'The last period of a range (included). Default: the latest released period', example: '2025-03' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  to?: string;
}

class ResearchRowDto {
  @ApiProperty({ example: '2026-11', description: 'The release period: `YYYY-MM` or `YYYY-Www`' }) period: string;
  @ApiProperty({ example: 'evening', description: '`*` when coarsened away' }) partOfDay: string;
  @ApiProperty({ example: 'weekday' }) weekend: string;
  @ApiProperty({ enum: ['answered', 'abandoned'] }) outcome: string;
  @ApiProperty({ example: '<30s' }) wait: string;
  @ApiProperty({ example: '5m-15m' }) talk: string;
  @ApiProperty({ example: 'high' }) risk: string;
  @ApiProperty({ example: 'Emotional support' }) category: string;
  @ApiProperty({ enum: ['yes', 'no'] }) escalated: string;
}

class LevelDto {
  @ApiProperty() level: number;
  @ApiProperty() suppressedRows: number;
}

class PeriodReportDto {
  @ApiProperty({ example: '2025-03' }) period: string;
  @ApiProperty({ enum: ['released', 'withheld'] }) status: string;
  @ApiProperty({
    enum: ['fewer_than_k', 'changed', 'overlaps'],
    nullable: true,
    description:
      'Why nothing of the period is exported: fewer than RESEARCH_K consenting calls; changed since first released; overlaps a period released under the other RESEARCH_PERIOD',
  })
  reason: string | null;
  @ApiProperty({ type: String, nullable: true }) explanation: string | null;
  @ApiProperty({ type: Date, nullable: true, description: 'When this content was first released' }) firstReleasedAt: Date | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Consenting calls in the period (not shown when withheld)' }) considered:
    number | null;
  @ApiProperty() exported: number;
  @ApiProperty({ type: Number, nullable: true }) suppressedRows: number | null;
  @ApiProperty({ type: Number, nullable: true }) suppressedCombinations: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'The generalisation level used (0 finest)' }) level: number | null;
  @ApiProperty({ type: String, nullable: true }) generalisation: string | null;
  @ApiProperty({ type: [LevelDto], nullable: true, description: 'What each level would have suppressed' }) levels: LevelDto[] | null;
}

class SuppressionReportDto {
  @ApiProperty() k: number;
  @ApiProperty({ description: 'Consenting calls in the released periods' }) considered: number;
  @ApiProperty() exported: number;
  @ApiProperty() suppressedRows: number;
  @ApiProperty() suppressedCombinations: number;
  @ApiProperty({ type: [PeriodReportDto] }) periods: PeriodReportDto[];
}

class ResearchExportDto {
  @ApiProperty({ enum: ['month', 'week'], description: 'RESEARCH_PERIOD' }) period: string;
  @ApiProperty({ example: '2025-01' }) from: string;
  @ApiProperty({ example: '2025-03' }) to: string;
  @ApiProperty({ type: [ResearchRowDto] }) rows: ResearchRowDto[];
  @ApiProperty({ type: SuppressionReportDto }) report: SuppressionReportDto;
}

@ApiTags('research')
@ApiBearerAuth()
@Controller('research')
export class ResearchController {
  constructor(
    private readonly releases: ResearchReleases,
    private readonly clock: Clock,
  ) {}

  @Get('export')
  @Roles('records_officer')
  @ApiOperation({
    summary: 'Anonymised research data (records officer)',
    description:
      'Only ended calls whose caller gave research consent (not withdrawn); structured fields only (no notes, numbers, pseudonyms or ids); times coarsened and rare combinations suppressed. ' +
      RULES +
      ' With a report of what was released, withheld and suppressed, per period. Audited (with a fingerprint of each period released). ' +
      'A range that is not whole, ended periods (an instant, a day, a period still running) is a 400 that says why.',
  })
  @ApiOkResponse({ type: ResearchExportDto })
  @ApiErrors([400, 401, 403])
  export(@CurrentUser() user: Principal, @Query() q: ResearchQuery): Promise<ResearchExport> {
    return this.releases.export(user, this.periods(q), 'json');
  }

  @Get('export/csv')
  @Roles('records_officer')
  @ApiOperation({
    summary: 'The research data as CSV (records officer)',
    description: `The rows, then the report as \`#\` lines (one per period). Same periods and rules as the JSON. ${RULES} Audited.`,
  })
  @ApiCsv(RESEARCH_COLUMNS.join(', '))
  @ApiErrors([400, 401, 403])
  async exportCsv(@CurrentUser() user: Principal, @Query() q: ResearchQuery, @Res() res: Response): Promise<void> {
    const { rows, report } = await this.releases.export(user, this.periods(q), 'csv');
    const body = toCsv(
      RESEARCH_COLUMNS,
      rows.map((r) => RESEARCH_COLUMNS.map((c) => r[c])),
    );
    const { periods, ...totals } = report;
    const lines = [
      ...Object.entries(totals).map(([key, v]) => `# ${key}: ${v}`),
      ...periods.map((p) =>
        p.status === 'released'
          ? `# period ${p.period}: released, ${p.considered} considered, ${p.exported} exported, ${p.suppressedRows} suppressed; ${p.generalisation}`
          : `# period ${p.period}: withheld: ${p.explanation}`,
      ),
    ];
    sendCsv(res, 'research-export.csv', body + lines.join('\r\n') + '\r\n');
  }

  /** The periods asked for, or a 400 saying why they are not whole, ended periods. */
  private periods(q: ResearchQuery): ReleasePeriod[] {
    const kind = this.releases.kind;
    const now = this.clock.now();
    const unit = kind === 'month' ? 'calendar month' : 'ISO week';
    const example = kind === 'month' ? '2025-03' : '2025-W10';
    const parse = (field: string, value: string): ReleasePeriod => {
      const p = parsePeriod(kind, value);
      if (!p)
        throw new BadRequestException({
          message: `${field} must name a whole ${unit} as ${PERIOD_FORMAT[kind]} (e.g. ${example}): research data is released by whole ${unit}s (UTC, RESEARCH_PERIOD=${kind}), not from or to an instant`,
          fields: [field],
        });
      if (!released(p, now))
        throw new BadRequestException({
          message: `${p.id} has not ended yet: a ${unit} is released from the day after it ends`,
          fields: [field],
        });
      return p;
    };
    if (q.period !== undefined && (q.from !== undefined || q.to !== undefined))
      throw new BadRequestException({ message: 'give either period, or from and to', fields: ['period', 'from', 'to'] });
    if (q.period !== undefined) return [parse('period', q.period)];
    const asked = q.from !== undefined ? parse('from', q.from) : null;
    const to = q.to !== undefined ? parse('to', q.to) : latestReleased(kind, now);
    const from = asked ?? to;
    if (from.start > to.start) throw new BadRequestException({ message: 'from must not be after to', fields: ['from', 'to'] });
    const periods = periodsBetween(from, to);
    if (periods.length > MAX_PERIODS[kind])
      throw new BadRequestException({ message: `ask for at most ${MAX_PERIODS[kind]} ${unit}s at a time`, fields: ['from', 'to'] });
    return periods;
  }
}

@Module({ imports: [CallRecordsModule], controllers: [ResearchController], providers: [ResearchReleases] })
export class ResearchModule {}
