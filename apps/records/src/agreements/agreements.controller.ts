import { Controller, Get, HttpCode, NotFoundException, ConflictException, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { AgreementCatalog, CurrentUser, Principal, Roles, SessionRegistry, SignInStep, StaffService, compareVersions } from '@hotline/auth';
import { ROLES, Role } from '@hotline/contract';
import { ApiErrors } from '../common/api-errors';

class AgreementDto {
  @ApiProperty({ example: '1' }) version: string;
  @ApiProperty({ description: 'The agreement, Markdown' }) text: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When you accepted this version (null: not yet)' })
  acceptedAt: string | null;
}

class AcceptedDto {
  @ApiProperty() version: string;
  @ApiProperty({ format: 'date-time' }) acceptedAt: string;
}

class AcceptanceDto {
  @ApiProperty({ format: 'uuid' }) staffId: string;
  @ApiProperty() username: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty() version: string;
  @ApiProperty({ format: 'date-time' }) acceptedAt: string;
}

class AcceptanceListDto {
  @ApiProperty({ type: String, nullable: true, description: 'null: no agreement is published' }) currentVersion: string | null;
  @ApiProperty({ type: [AcceptanceDto] }) items: AcceptanceDto[];
  @ApiPropertyOptional({ type: [String], description: 'Active staff who have not accepted the current version (ids)' })
  pendingStaffIds: string[];
}

/**
 * The confidentiality agreement (config/agreements/<version>.md, the highest version current).
 * Until a member accepts the current version, every other route answers 403 `agreement_required`
 * (AccessGuard) and console sockets are refused with `agreement_required` (the gateway).
 */
@ApiTags('agreements')
@ApiBearerAuth()
@Controller('agreements')
export class AgreementsController {
  constructor(
    private readonly catalog: AgreementCatalog,
    private readonly staff: StaffService,
    private readonly sessions: SessionRegistry,
  ) {}

  @Get('current')
  @Roles(...ROLES)
  @SignInStep()
  @ApiOperation({ summary: 'The current confidentiality agreement, and whether you accepted it' })
  @ApiOkResponse({ type: AgreementDto })
  @ApiErrors([401, 404], { 404: 'No agreement is published (AGREEMENTS_DIR holds no version).' })
  async current(@CurrentUser() user: Principal): Promise<AgreementDto> {
    const current = this.catalog.current();
    if (!current) throw new NotFoundException('no agreement is published');
    const mine = await this.staff.acceptances(current.version);
    const accepted = mine.find((a) => a.staffId === user.id);
    return { version: current.version, text: current.text, acceptedAt: accepted?.acceptedAt ?? null };
  }

  @Post(':version/accept')
  @HttpCode(200)
  @Roles(...ROLES)
  @SignInStep()
  @ApiOperation({
    summary: 'Accept the current agreement',
    description:
      'Only the current version can be accepted (409 for an older one). Audited with version and time; accepting again changes nothing.',
  })
  @ApiOkResponse({ type: AcceptedDto })
  @ApiErrors([401, 404, 409], { 404: 'No such version.', 409: 'Not the current version: read GET /agreements/current.' })
  async accept(@Param('version') version: string, @CurrentUser() user: Principal): Promise<AcceptedDto> {
    const current = this.catalog.current();
    if (!current || !/^[0-9A-Za-z._-]{1,32}$/.test(version)) throw new NotFoundException('no such agreement version');
    if (compareVersions(version, current.version) !== 0)
      throw new ConflictException({ message: `version ${current.version} is current: read and accept that one`, fields: ['version'] });
    const { acceptedAt } = await this.staff.acceptAgreement(user, current.version);
    await this.sessions.agreed(user.id, current.version);
    return { version: current.version, acceptedAt };
  }

  @Get('acceptances')
  @Roles('admin', 'auditor')
  @ApiOperation({ summary: 'Who accepted which version, and who has not accepted the current one (admins, auditors)' })
  @ApiQuery({ name: 'version', required: false })
  @ApiOkResponse({ type: AcceptanceListDto })
  @ApiErrors([401, 403, 404])
  async acceptances(@Query('version') version?: string): Promise<AcceptanceListDto> {
    const current = this.catalog.current();
    if (!current) return { currentVersion: null, items: await this.staff.acceptances(), pendingStaffIds: [] };
    if (version !== undefined && !/^[0-9A-Za-z._-]{1,32}$/.test(version)) throw new NotFoundException('no such agreement version');
    const items = await this.staff.acceptances(version);
    const ofCurrent = new Set(
      (version === undefined || version === current.version ? items : await this.staff.acceptances(current.version))
        .filter((a) => a.version === current.version)
        .map((a) => a.staffId),
    );
    const pendingStaffIds = (await this.staff.list()).filter((s) => s.active && !ofCurrent.has(s.id)).map((s) => s.id);
    return { currentVersion: current.version, items, pendingStaffIds };
  }
}
