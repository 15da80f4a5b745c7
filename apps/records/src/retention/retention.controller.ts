import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Roles } from '@hotline/auth';
import { RetentionReport, RetentionReportService } from '@hotline/retention';

@ApiTags('retention')
@ApiBearerAuth()
@Controller('retention')
export class RetentionController {
  constructor(private readonly reports: RetentionReportService) {}

  @Get('report')
  @Roles('records_officer', 'auditor')
  @ApiOperation({
    summary: 'The retention self-test',
    description:
      'Calls by retention policy, the oldest call not under legal hold against its policy, how many expired calls and recordings remain past one scan interval (overdue: should be 0), legal holds in force, and deletions and failed deletions in the last day and week. Counts and dates only: no call content, no caller.',
  })
  @ApiOkResponse({ description: '`ok` is true when nothing older than its policy remains.' })
  @ApiUnauthorizedResponse({ description: 'No valid access token.' })
  @ApiForbiddenResponse({ description: 'Only records officers and auditors.' })
  report(): Promise<RetentionReport> {
    return this.reports.report();
  }
}
