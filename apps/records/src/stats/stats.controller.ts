import { BadRequestException, Controller, Get, Module, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional } from 'class-validator';
import type { Response } from 'express';
import { CallRecordsModule, HOUR_MS, HourlyStats } from '@hotline/calls';
import { Roles } from '@hotline/auth';
import { ApiErrors } from '../common/api-errors';
import { ApiCsv, sendCsv, toCsv } from '../common/csv';
import { PERIODS, Period, SMALL_COUNT, StatsPeriod, aggregate, periodStart, statsCsvRows } from './aggregate';

/** The longest range one request may ask for (a year and a bit, by hour that is ~9,000 periods). */
const MAX_RANGE_MS = 400 * 24 * HOUR_MS;

class StatsQuery {
  @ApiPropertyOptional({ description: 'From this instant (ISO 8601; rounded down to its period). Default: 7 days before `to`' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Up to this instant (exclusive, ISO 8601). Default: now' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;

  @ApiPropertyOptional({ enum: PERIODS, default: 'hour', description: 'Sum by hour, day or week (from Monday), in UTC' })
  @IsOptional()
  @IsIn(PERIODS, { message: 'by must be hour, day or week' })
  by?: Period;
}

class StatsPeriodDto {
  @ApiProperty() start: Date;
  @ApiProperty() offered: number;
  @ApiProperty() answered: number;
  @ApiProperty() abandoned: number;
  @ApiProperty({ description: 'Answered within SERVICE_LEVEL_SECONDS' }) answeredInServiceLevel: number;
  @ApiProperty({ type: Object, description: 'Calls by wait band (answered: to the answer; abandoned: to the hang-up)' })
  wait: Record<string, number>;
  @ApiProperty({ type: Object, description: 'Answered calls by talk-time band' }) talk: Record<string, number>;
  @ApiProperty({ type: Object, description: 'Calls assessed, by the risk level they ended with' }) riskAssessed: Record<string, number>;
  @ApiProperty() escalations: number;
  @ApiProperty({ description: 'Not recorded by this system yet: always 0' }) callbacks: number;
  @ApiProperty({ description: 'Not recorded by this system yet: always 0' }) transfers: number;
  @ApiProperty() complaintsReceived: number;
  @ApiProperty() complaintsResolved: number;
}

class StatsDto {
  @ApiProperty() from: Date;
  @ApiProperty() to: Date;
  @ApiProperty({ enum: PERIODS }) by: Period;
  @ApiProperty() serviceLevelSeconds: number;
  @ApiProperty({ type: [StatsPeriodDto] }) periods: StatsPeriodDto[];
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
      'Counted per hour before the calls they count are destroyed (the worker counts a call an hour after it ends, or as it destroys it): calls offered, answered, abandoned, answered within the service level, wait and talk bands, risk levels assessed, escalations, complaints. By hour, day or week. Counts only: no id, no caller.',
  })
  @ApiOkResponse({ type: StatsDto })
  @ApiErrors([400, 401, 403])
  async hourly(@Query() q: StatsQuery): Promise<StatsDto> {
    const { from, to, by } = range(q);
    const periods = aggregate(await this.stats.read(from, to), by, from, to);
    return { from, to, by, serviceLevelSeconds: this.stats.serviceLevelSeconds, periods };
  }

  @Get('hourly/csv')
  @Roles('supervisor')
  @ApiOperation({
    summary: 'The statistics as CSV (supervisor)',
    description: `One line per period, metric and bucket. Counts from 1 to ${SMALL_COUNT - 1} are shown as "<${SMALL_COUNT}".`,
  })
  @ApiCsv('period, metric, bucket, count')
  @ApiErrors([400, 401, 403])
  async hourlyCsv(@Query() q: StatsQuery, @Res() res: Response): Promise<void> {
    const { from, to, by } = range(q);
    const periods: StatsPeriod[] = aggregate(await this.stats.read(from, to), by, from, to);
    sendCsv(res, `stats-by-${by}.csv`, toCsv(['period', 'metric', 'bucket', 'count'], statsCsvRows(periods)));
  }
}

function range(q: StatsQuery): { from: Date; to: Date; by: Period } {
  const by = q.by ?? 'hour';
  const to = q.to ? new Date(q.to) : new Date();
  const from = periodStart(q.from ? new Date(q.from) : new Date(to.getTime() - 7 * 24 * HOUR_MS), by);
  if (from >= to) throw new BadRequestException({ message: 'from must be before to', fields: ['from', 'to'] });
  if (to.getTime() - from.getTime() > MAX_RANGE_MS)
    throw new BadRequestException({ message: 'ask for at most 400 days at a time', fields: ['from', 'to'] });
  return { from, to, by };
}

@Module({ imports: [CallRecordsModule], controllers: [StatsController] })
export class StatsModule {}
