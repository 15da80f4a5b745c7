import { BadGatewayException, ConflictException, ForbiddenException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type Redis from 'ioredis';
import { AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import { CallRepository, CallSummary, RescueRequest, RescueRequests } from '@hotline/calls';
import { Clock } from '@hotline/clock';
import { dialableNumber } from '@hotline/crypto/pseudonym';
import type { DisclosableField, RescueAlert } from '@hotline/contract';
import { AlertMessage, alertsChannel } from '@hotline/events';
import { REDIS, withTimeout } from '@hotline/observability';
import { CallerLocation, CallerLocations } from '@hotline/routing';
import { TwilioService } from '@hotline/twilio';

const NOT_FOUND = 'no such call';
const NO_REQUEST = 'no such rescue request on this call';

/**
 * What an approved rescue discloses, read live. `number` is null and `withheld` true when Twilio's
 * caller ID is its stand-in for a withheld or unavailable number (never shown as a number); the
 * caller-ID location is shown where Twilio gave one, withheld number or not.
 */
export interface RescueDisclosure {
  number: string | null;
  withheld: boolean;
  location: CallerLocation | null;
}

/**
 * Active rescue (the 988 imminent-risk policy): two people, both audited, before anyone sees the
 * caller's number. The operator who handles the live, imminent-risk call asks; a supervisor approves
 * with a reason; only then is the number read, live, from Twilio's Call resource, and the caller-ID
 * location from the live call's routing state. They are returned to two people only, on each read:
 * the approving supervisor, and the call's current handler (`calls.operator_id` of the live call:
 * the operator who asked until they hand the call on, then whoever has it now; issue 24), and
 * written nowhere: not a table, a log line, a job, an audit entry or a Redis key. The escalation the
 * approval records says which fields were disclosed and to whom, never their values.
 */
@Injectable()
export class RescueService {
  private readonly logger = new Logger(RescueService.name);
  private readonly locations: CallerLocations;

  constructor(
    private readonly calls: CallRepository,
    private readonly requests: RescueRequests,
    private readonly twilio: TwilioService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.locations = new CallerLocations(redis);
  }

  async request(user: Principal, callId: string, reason: string): Promise<{ id: string }> {
    await this.calls.ensureContentKey(callId).catch(() => undefined);
    const created = await this.calls.transaction(async (tx) => {
      const call = await this.calls.lockExclusive(callId, tx);
      if (!call || call.operatorId !== user.id) throw new NotFoundException(NOT_FOUND);
      this.mustBeLive(call);
      if (call.riskLevel !== 'imminent')
        throw new ConflictException(
          'active rescue is for imminent risk: assess the call as imminent first (PUT /calls/:callId/assessment)',
        );
      const r = await this.requests.create(callId, user.id, reason.trim(), this.clock.now(), tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'rescue.requested',
          targetType: 'call',
          targetId: callId,
          detail: { rescueRequestId: r.id },
        },
        tx,
      );
      return r;
    });
    await this.alert({ callId, requestId: created.id, operatorId: user.id, stage: 'requested', at: created.createdAt.toISOString() });
    return { id: created.id };
  }

  async approve(user: Principal, callId: string, id: string, reason: string): Promise<RescueDisclosure> {
    // Read first, outside the transaction (no lock held across a call to Twilio); disclosed only once the approval commits.
    const pre = await this.requests.find(callId, id);
    if (!pre) throw new NotFoundException(NO_REQUEST);
    if (pre.status !== 'requested') throw new ConflictException('this request is approved already');
    const before = await this.calls.findSummary(callId);
    if (!before) throw new NotFoundException(NOT_FOUND);
    this.mustBeLive(before);
    const live = await this.readLive(callId);
    // What is disclosed: the number unless withheld, the location where Twilio gave one.
    const fields: DisclosableField[] = [
      ...(live.number ? (['phone_number'] as const) : []),
      ...(live.location ? (['caller_location'] as const) : []),
    ];
    const approved = await this.calls.transaction(async (tx) => {
      const call = await this.calls.lockExclusive(callId, tx);
      if (!call) throw new NotFoundException(NOT_FOUND);
      this.mustBeLive(call);
      const r = await this.requests.find(callId, id, tx, true);
      if (!r) throw new NotFoundException(NO_REQUEST);
      if (r.status !== 'requested') throw new ConflictException('this request is approved already');
      if (r.requestedBy === user.id) throw new ForbiddenException('the person who asked cannot approve');
      // Disclosed to the call's handler now (the one who asked, unless the call was handed on since) and the approver.
      const handler = await this.requests.handler(callId, tx);
      // Two people: whoever has the call now (a supervisor taking calls, after a transfer) is not the second.
      if (handler === user.id) throw new ForbiddenException('the call’s handler cannot approve');
      const escalation = await this.calls.addEscalation(
        call,
        r.requestedBy,
        {
          disclosedTo: `active rescue: the call's handler ${handler ?? '(none: the call is being transferred)'} (asked by ${r.requestedBy}) and the approving supervisor ${user.id}`,
          legalBasis: 'imminent risk to life (988 imminent-risk policy), two-person approval; number read live from Twilio, not stored',
          fieldsDisclosed: fields,
          emergencyContactConfirmedAt: null,
          notes: null,
        },
        tx,
      );
      await this.requests.approve(r, user.id, reason.trim(), escalation.id, this.clock.now(), tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'rescue.approved',
          targetType: 'call',
          targetId: callId,
          // Which fields and to whom (ids), never their values.
          detail: {
            rescueRequestId: r.id,
            escalationId: escalation.id,
            fieldsDisclosed: fields,
            disclosedTo: handler ? [handler, user.id] : [user.id],
          },
        },
        tx,
      );
      return { handler };
    });
    // The operator told is the one who has the call now (rescue:approved), who alone of operators may read it.
    if (approved.handler)
      await this.alert({ callId, requestId: id, operatorId: approved.handler, stage: 'approved', at: this.clock.now().toISOString() });
    return live;
  }

  /**
   * The request's status; once approved, the number and location again, to the call's current
   * handler and the approving supervisor only (each read audited). An operator who asked and has
   * handed the call on since reads nothing more (404, like any call not theirs).
   */
  async read(user: Principal, callId: string, id: string) {
    const r = await this.requests.find(callId, id);
    const call = r ? await this.calls.findSummary(callId) : null;
    if (!r || !call || !this.isParty(user, r, await this.requests.handler(callId))) throw new NotFoundException(NO_REQUEST);
    if (r.status !== 'approved') return { status: r.status };
    this.mustBeLive(call);
    const live = await this.readLive(callId);
    // The call may have changed hands while Twilio was asked: disclosed only if it is still theirs.
    if (!this.isParty(user, r, await this.requests.handler(callId))) throw new NotFoundException(NO_REQUEST);
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'rescue.disclosed',
      targetType: 'call',
      targetId: callId,
      detail: { rescueRequestId: id },
    });
    return { status: r.status, ...live };
  }

  /**
   * Who may read a request: the call's current handler (RescueRequests.handler: the operator who has
   * the call now, not whoever asked), and supervisors: any while it waits (to approve it), once approved
   * only the one who approved. A supervisor taking calls who has the call now reads it as its handler.
   */
  private isParty(user: Principal, r: RescueRequest, handler: string | null): boolean {
    if (handler === user.id) return true;
    if (user.role !== 'supervisor') return false;
    return r.status === 'requested' || r.approvedBy === user.id;
  }

  private mustBeLive(call: CallSummary): void {
    if (call.endedAt || call.status === 'completed' || call.status === 'abandoned')
      throw new ConflictException('the call has ended: its number cannot be read any more');
  }

  private async readLive(callId: string): Promise<RescueDisclosure> {
    const callSid = await this.requests.callSid(callId);
    const caller = callSid ? await twilioAnswer(() => this.twilio.liveCaller(callSid)) : null;
    if (!caller) throw new ConflictException('the call has ended: its number cannot be read any more');
    const location = await withTimeout(this.locations.read(callId), 1000).catch(() => null);
    const number = dialableNumber(caller.from);
    return { number, withheld: !number, location };
  }

  private async alert(alert: RescueAlert): Promise<void> {
    const message: AlertMessage = { type: 'rescue', alert };
    try {
      await withTimeout(this.redis.publish(alertsChannel(this.redis.options.db), JSON.stringify(message)), 2000);
    } catch (e) {
      this.logger.error({ callId: alert.callId, err: (e as Error).message }, 'could not publish the rescue alert');
    }
  }
}

/** Twilio unreachable or failing is a 502 that says so (never a 500, never the request's details). */
export async function twilioAnswer<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch {
    throw new BadGatewayException('Twilio could not be reached to read the caller’s number; try again');
  }
}
