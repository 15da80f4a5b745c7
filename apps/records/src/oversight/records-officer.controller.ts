import { Controller, Get, Module, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { Roles } from '@hotline/auth';
import { CallOversight, CallRecordsModule, CertificateView, HoldView } from '@hotline/calls';
import { ApiErrors } from '../common/api-errors';

const DAY_MS = 86_400_000;

class HoldDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ description: 'The reason the records officer gave' }) reason: string;
  @ApiProperty({ format: 'uuid' }) placedBy: string;
  @ApiProperty() placedAt: Date;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) liftedBy: string | null;
  @ApiProperty({ type: Date, nullable: true }) liftedAt: Date | null;
}

class HoldListDto {
  @ApiProperty({ type: [HoldDto], description: 'In force first, then lifted in the last 30 days' }) holds: HoldDto[];
}

class CertificateSummaryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ enum: ['retention', 'caller_request'] }) reason: string;
  @ApiProperty() retentionPolicy: string;
  @ApiProperty() retentionDeadline: Date;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) deletionRequestId: string | null;
  @ApiProperty() destroyedAt: Date;
  @ApiProperty({ description: 'Steps logged (GET /calls/:callId answers 410 with the full certificate)' }) steps: number;
}

class CertificateListDto {
  @ApiProperty({ type: [CertificateSummaryDto] }) certificates: CertificateSummaryDto[];
}

class CertificateQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number from 1 to 200' })
  @Min(1, { message: 'limit must be a whole number from 1 to 200' })
  @Max(200, { message: 'limit must be a whole number from 1 to 200' })
  limit?: number;

  @ApiPropertyOptional({ description: 'Destroyed before this instant (the last destroyedAt of the previous page)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'before must be an ISO 8601 date-time' })
  before?: string;
}

/** What the records officer's console lists besides the existing routes: legal holds and deletion certificates. */
@ApiTags('records officer')
@ApiBearerAuth()
@Controller()
export class RecordsOfficerController {
  constructor(private readonly oversight: CallOversight) {}

  @Get('legal-holds')
  @Roles('records_officer')
  @ApiOperation({
    summary: 'Legal holds (records officer)',
    description:
      'Every hold in force, then those lifted in the last 30 days. Place and lift with POST and DELETE /calls/:callId/legal-hold.',
  })
  @ApiOkResponse({ type: HoldListDto })
  @ApiErrors([401, 403])
  async holds(): Promise<{ holds: HoldView[] }> {
    return { holds: await this.oversight.holds(new Date(Date.now() - 30 * DAY_MS)) };
  }

  @Get('deletion-certificates')
  @Roles('records_officer', 'auditor')
  @ApiOperation({ summary: 'Deletion certificates (records officer, auditor)', description: 'Newest first; content-free.' })
  @ApiOkResponse({ type: CertificateListDto })
  @ApiErrors([400, 401, 403])
  async certificates(@Query() q: CertificateQuery): Promise<{ certificates: CertificateView[] }> {
    return { certificates: await this.oversight.certificates(q.limit ?? 50, q.before ? new Date(q.before) : undefined) };
  }
}

@Module({ imports: [CallRecordsModule], controllers: [RecordsOfficerController] })
export class RecordsOfficerModule {}
