import { BadRequestException, Body, Controller, Get, Inject, Injectable, Module, NotFoundException, Optional, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { ArrayMaxSize, ArrayUnique, IsArray, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { CurrentUser, Principal, Roles, StaffModule, StaffService } from '@hotline/auth';
import { CallHandover, CallRecordsModule, CallbackHandoverTasks, HANDOVER_TASKS, HandoverTasks } from '@hotline/calls/records';
import { UuidParam } from '../calls/uuid-param';
import { ApiErrors } from '../common/api-errors';
import type Redis from 'ioredis';
import { AlertMessage, alertsChannel } from '@hotline/events';
import { REDIS } from '@hotline/observability';

export class HandoverDto {
  @ApiProperty({ format: 'uuid', description: 'The operator who leaves (or is away for long)' })
  @IsUUID('all', { message: 'fromOperatorId must be a UUID' })
  fromOperatorId: string;

  @ApiProperty({ format: 'uuid', description: 'The active operator who takes their calls over' })
  @IsUUID('all', { message: 'toOperatorId must be a UUID' })
  toOperatorId: string;

  @ApiPropertyOptional({ type: [String], description: 'The calls to hand over; absent: all of their ended calls', maxItems: 1000 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @ArrayUnique()
  @IsUUID('all', { each: true, message: 'callIds must be UUIDs' })
  callIds?: string[];

  @ApiProperty({
    description: 'Why (kept in the handover record; the audit trail names ids only)',
    example: 'Leaves the service at the end of the month',
  })
  @IsString()
  @Length(5, 500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason: string;
}

export class HandoverResultDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: [String], description: 'Calls now handled by the new operator' }) moved: string[];
  @ApiProperty({ type: [String], description: 'Calls asked for that did not move (not theirs, still live, or gone)' }) refused: string[];
  @ApiProperty({ description: 'Other work moved with the calls, by kind (callbacks, follow-ups once issue 15 provides them)', example: {} })
  tasks: Record<string, number>;
}

export class HandoverOperatorDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() username: string;
  @ApiProperty() displayName: string;
  @ApiProperty() active: boolean;
  @ApiProperty({ description: 'Ended calls they hold (these can be handed over)' }) endedCalls: number;
  @ApiProperty({ description: 'Live calls they hold (these stay)' }) liveCalls: number;
}
export class HandoverOperatorListDto {
  @ApiProperty({ type: [HandoverOperatorDto] }) items: HandoverOperatorDto[];
}
export class HeldCallDto {
  @ApiProperty({ format: 'uuid' }) callId: string;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ format: 'date-time' }) endedAt: string;
  @ApiProperty() riskLevel: string;
}
export class HeldCallListDto {
  @ApiProperty({ type: [HeldCallDto] }) items: HeldCallDto[];
}

@Injectable()
export class HandoverService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly calls: CallHandover,
    private readonly staff: StaffService,
    private readonly audit: AuditService,
    @Inject(REDIS) private readonly redis: Redis,
    @Optional() @Inject(HANDOVER_TASKS) private readonly tasks: HandoverTasks[] = [],
  ) {}

  async operators(): Promise<HandoverOperatorListDto> {
    const [staff, counts] = await Promise.all([this.staff.list(), this.calls.counts()]);
    return {
      items: staff
        .filter((s) => s.role === 'operator')
        .map((s) => ({
          id: s.id,
          username: s.username,
          displayName: s.displayName,
          active: s.active,
          endedCalls: counts.get(s.id)?.ended ?? 0,
          liveCalls: counts.get(s.id)?.live ?? 0,
        })),
    };
  }

  async heldBy(operatorId: string): Promise<HeldCallListDto> {
    const op = await this.staff.findById(operatorId);
    if (!op || op.role !== 'operator') throw new NotFoundException('no such operator');
    const items = await this.calls.held(operatorId);
    return {
      items: items.map((c) => ({
        callId: c.callId,
        startedAt: c.startedAt.toISOString(),
        endedAt: c.endedAt.toISOString(),
        riskLevel: c.riskLevel,
      })),
    };
  }

  async handOver(by: Principal, body: HandoverDto): Promise<HandoverResultDto> {
    const from = body.fromOperatorId.toLowerCase();
    const to = body.toOperatorId.toLowerCase();
    if (from === to) throw new BadRequestException({ message: 'hand over to another operator', fields: ['toOperatorId'] });
    const [giver, taker] = await Promise.all([this.staff.findById(from), this.staff.findById(to)]);
    if (!giver || giver.role !== 'operator')
      throw new BadRequestException({ message: 'fromOperatorId is not an operator', fields: ['fromOperatorId'] });
    if (!taker || taker.role !== 'operator' || !taker.active)
      throw new BadRequestException({ message: 'toOperatorId is not an active operator', fields: ['toOperatorId'] });
    const id = randomUUID();
    const result = await this.ds.transaction(async (m) => {
      const { moved, refused } = await this.calls.reassign(from, to, body.callIds?.map((c) => c.toLowerCase()) ?? 'all', m);
      const tasks: Record<string, number> = {};
      for (const t of this.tasks ?? []) tasks[t.kind] = await t.move(from, to, moved, m);
      await this.calls.recordHandover(
        {
          id,
          fromOperatorId: from,
          toOperatorId: to,
          byStaffId: by.id,
          reason: body.reason.trim(),
          callsMoved: moved.length,
          at: new Date(),
        },
        m,
      );
      await this.audit.append(
        {
          actorId: by.id,
          actorRole: by.role,
          action: 'calls.handed_over',
          targetType: 'staff',
          targetId: from,
          detail: { handoverId: id, to, callIds: moved, refused, tasks },
        },
        m,
      );
      return { id, moved, refused, tasks };
    });
    // After the commit, best effort: both operators' consoles refresh their calls at once (every gateway node).
    if (result.moved.length) {
      const message: AlertMessage = { type: 'calls_reassigned', alert: { fromOperatorId: from, toOperatorId: to, callIds: result.moved } };
      await this.redis.publish(alertsChannel(this.redis.options.db), JSON.stringify(message)).catch(() => undefined);
    }
    return result;
  }
}

@ApiTags('handover')
@ApiBearerAuth()
@Controller('handovers')
export class HandoverController {
  constructor(private readonly handovers: HandoverService) {}

  @Get('operators')
  @Roles('supervisor')
  @ApiOperation({ summary: 'Operators, active or not, with how many ended and live calls each holds (supervisor; no content)' })
  @ApiOkResponse({ type: HandoverOperatorListDto })
  @ApiErrors([401, 403])
  operators(): Promise<HandoverOperatorListDto> {
    return this.handovers.operators();
  }

  @Get('operators/:id/calls')
  @Roles('supervisor')
  @ApiOperation({ summary: "An operator's ended calls, newest first, to choose which to hand over (supervisor; metadata only)" })
  @ApiOkResponse({ type: HeldCallListDto })
  @ApiErrors([400, 401, 403, 404], { 404: 'No such operator.' })
  heldBy(@UuidParam('id') id: string): Promise<HeldCallListDto> {
    return this.handovers.heldBy(id);
  }

  @Post()
  @Roles('supervisor')
  @ApiOperation({
    summary: "Hand a leaving operator's calls over to another operator (supervisor)",
    description:
      "Moves need-to-know access to the calls (all of the operator's ended calls, or those named) to another active operator, at once: the next request of either sees it. Live calls stay. Pending callbacks and follow-ups of those calls move with them (the new operator becomes the preferred one). Audited: who handed what to whom, with the handover's id; the reason is kept in the handover record.",
  })
  @ApiCreatedResponse({ type: HandoverResultDto })
  @ApiErrors([400, 401, 403])
  handOver(@Body() body: HandoverDto, @CurrentUser() user: Principal): Promise<HandoverResultDto> {
    return this.handovers.handOver(user, body);
  }
}

/** Handover of a leaving operator's calls (issue 16). */
@Module({
  imports: [CallRecordsModule, StaffModule],
  controllers: [HandoverController],
  // Pending callbacks and follow-ups (issue 15) move with the calls.
  providers: [HandoverService, { provide: HANDOVER_TASKS, useValue: [new CallbackHandoverTasks()] }],
})
export class HandoverModule {}
