import { BadRequestException, Controller, Get, Module, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiPropertyOptions, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional } from 'class-validator';
import type { Response } from 'express';
import { CallRecordsModule, HourlyStats } from '@hotline/calls';
import { Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { ApiCsv, sendCsv, toCsv } from '../common/csv';
import { DAY_MS, PERIODS, Period, periodEnd, periodStart } from './aggregate';
import { SMALL_COUNT } from './disclosure';
import { StatsTables, periodJson, statsCsvRows, totalsJson, weeksOf } from './suppress';

/** The longest range one request may ask for: a year and a bit by day or week, a month by hour. */
const MAX_DAYS: Record<Period, number> = { hour: 31, day: 400, week: 400 };

const SUPPRESSION =
  `Counts from 1 to ${SMALL_COUNT - 1} are never shown: \`null\` here, named in \`suppressed\` as \`small\` (CSV and console: "<${SMALL_COUNT}"). ` +
  'Further cells are withheld (`withheld`; CSV and console: "x") wherever a suppressed count could otherwise be worked out from the figures shown: ' +
  'from the parts of a total (offered = answered + abandoned + calls that were neither; the wait bands sum to the calls answered or abandoned, the talk bands to the calls answered), ' +
  "or from a period's sub-periods (a week's days, a day's hours sum to it). Each week is decided from its own counts alone, so a cell shows the same in every answer, " +
  'whatever range or granularity is asked for; the hourly view withholds whatever would narrow what the daily view leaves open. ' +
  'Totals add up the figures shown only (`incomplete` names the cells where a figure was not shown: the total is then "at least").';

class StatsQuery {
  @ApiPropertyOptional({
    description: 'From this instant (ISO 8601), rounded down to the start of its period. Default: 7 days before `to`',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({
    description:
      'Up to this instant (exclusive, ISO 8601), rounded up to the end of its period: only whole periods are shown. Default: now',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;

  @ApiPropertyOptional({
    enum: PERIODS,
    default: 'hour',
    description: 'Sum by hour, day or week (from Monday), in UTC. At most 31 days by hour, 400 by day or week',
  })
  @IsOptional()
  @IsIn(PERIODS, { message: 'by must be hour, day or week' })
  by?: Period;
}

const nullableCounts = (description: string): ApiPropertyOptions => ({
  type: 'object',
  description,
  additionalProperties: { type: 'integer', nullable: true },
});

class StatsPeriodDto {
  @ApiProperty() start: Date;
  @ApiProperty({ type: 'integer', nullable: true }) offered: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) answered: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) abandoned: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Answered within SERVICE_LEVEL_SECONDS' })
  answeredInServiceLevel: number | null;
  @ApiProperty(nullableCounts('Calls by wait band (answered: to the answer; abandoned: to the hang-up)'))
  wait: Record<string, number | null>;
  @ApiProperty(nullableCounts('Answered calls by talk-time band')) talk: Record<string, number | null>;
  @ApiProperty(nullableCounts('Calls assessed, by the risk level they ended with (every level, 0 included)'))
  riskAssessed: Record<string, number | null>;
  @ApiProperty({ type: 'integer', nullable: true }) escalations: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Not recorded by this system yet: always 0' }) callbacks: number | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Not recorded by this system yet: always 0' }) transfers: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) complaintsReceived: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) complaintsResolved: number | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['small', 'withheld'] },
    description: `The cells of this period that are \`null\`, by name (\`abandoned\`, \`wait.5m+\`, \`riskAssessed.high\`): \`small\` (1 to ${SMALL_COUNT - 1}), \`withheld\` (so that a small count cannot be worked out)`,
    example: { abandoned: 'small', answered: 'withheld' },
  })
  suppressed: Record<string, 'small' | 'withheld'>;
}

class StatsTotalsDto {
  @ApiProperty() offered: number;
  @ApiProperty() answered: number;
  @ApiProperty() abandoned: number;
  @ApiProperty() answeredInServiceLevel: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' } }) wait: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' } }) talk: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'integer' } }) riskAssessed: Record<string, number>;
  @ApiProperty() escalations: number;
  @ApiProperty() callbacks: number;
  @ApiProperty() transfers: number;
  @ApiProperty() complaintsReceived: number;
  @ApiProperty() complaintsResolved: number;
  @ApiProperty({
    type: [String],
    description: 'The cells (by name, as in `suppressed`) where some period was not shown: their total is "at least"',
    example: ['abandoned', 'wait.5m+'],
  })
  incomplete: string[];
}

class StatsDto {
  @ApiProperty({ description: 'The start of the first period' }) from: Date;
  @ApiProperty({ description: 'The end of the last period' }) to: Date;
  @ApiProperty({ enum: PERIODS }) by: Period;
  @ApiProperty() serviceLevelSeconds: number;
  @ApiProperty({ description: `Counts below this are never shown (${SMALL_COUNT})` }) smallCount: number;
  @ApiProperty({ type: [StatsPeriodDto] }) periods: StatsPeriodDto[];
  @ApiProperty({ type: StatsTotalsDto, description: 'Each count summed over the periods: the figures shown only' })
  totals: StatsTotalsDto;
}

@ApiTags('stats')
@ApiBearerAuth()
@Controller('stats')
export class StatsController {
  constructor(private readonly stats: HourlyStats) {}

  @Get('hourly')
  @Roles('supervisor')
  @ApiOperation({
    summary: 'Content-free statistics that outlive deletion (supervisor)',
    description:
      'Counted per hour before the calls they count are destroyed (the worker counts a call an hour after it ends, or as it destroys it): calls offered, answered, abandoned, answered within the service level, wait and talk bands, risk levels assessed, escalations, complaints. By hour, day or week, whole periods only. Counts only: no id, no caller. ' +
      SUPPRESSION,
  })
  @ApiOkResponse({ type: StatsDto })
  @ApiErrors([400, 401, 403])
  async hourly(@Query() q: StatsQuery): Promise<Record<string, unknown>> {
    const { from, to, by, periods } = await this.read(q);
    return {
      from,
      to,
      by,
      serviceLevelSeconds: this.stats.serviceLevelSeconds,
      smallCount: SMALL_COUNT,
      periods: periods.map(periodJson),
      totals: totalsJson(periods),
    };
  }

  @Get('hourly/csv')
  @Roles('supervisor')
  @ApiOperation({
    summary: 'The statistics as CSV (supervisor)',
    description: `One line per period, metric and bucket; the count is a number, "<${SMALL_COUNT}" or "x", exactly as the JSON shows it. ${SUPPRESSION}`,
  })
  @ApiCsv('period, metric, bucket, count')
  @ApiErrors([400, 401, 403])
  async hourlyCsv(@Query() q: StatsQuery, @Res() res: Response): Promise<void> {
    const { by, periods } = await this.read(q);
    sendCsv(res, `stats-by-${by}.csv`, toCsv(['period', 'metric', 'bucket', 'count'], statsCsvRows(periods)));
  }

  private async read(q: StatsQuery) {
    const { from, to, by } = range(q);
    const weeks = weeksOf(from, to);
    const tables = new StatsTables(await this.stats.read(weeks.from, weeks.to));
    return { from, to, by, periods: tables.periods(from, to, by) };
  }
}

/** The whole periods asked for: `from` down to its period's start, `to` up to its period's end. */
function range(q: StatsQuery): { from: Date; to: Date; by: Period } {
  const by = q.by ?? 'hour';
  const asked = q.to ? new Date(q.to) : new Date();
  const to = periodEnd(asked, by);
  const from = periodStart(q.from ? new Date(q.from) : new Date(asked.getTime() - 7 * DAY_MS), by);
  if (from >= to || (q.to && q.from && new Date(q.from) >= asked))
    throw new BadRequestException({ message: 'from must be before to', fields: ['from', 'to'] });
  if (to.getTime() - from.getTime() > MAX_DAYS[by] * DAY_MS)
    throw new BadRequestException({ message: `ask for at most ${MAX_DAYS[by]} days at a time by ${by}`, fields: ['from', 'to'] });
  return { from, to, by };
}

@Module({ imports: [CallRecordsModule], controllers: [StatsController] })
export class StatsModule {}
