import {
  BadRequestException,
  ForbiddenException,
  GoneException,
  HttpException,
  HttpStatus,
  Injectable,
  NotFoundException,
  ConflictException,
} from '@nestjs/common';
import { AuditSearch, AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import {
  CallDetail,
  CallPage,
  CallRepository,
  CallSummary,
  CallTx,
  ContentKeyGoneError,
  DeletionCertificate,
  EscalationDetails,
  EscalationMeta,
  InvalidCursorError,
} from '@hotline/calls';
import type { RiskLevel } from '@hotline/contract';
import { AlertsPublisher } from './alerts.publisher';
import { AddNoteDto, EscalationDto } from './dto';

export const MAX_REASON_LENGTH = 500;
const NOT_FOUND = 'no such call';

/**
 * Need to know, enforced for every call object:
 *  - an operator reads and writes the calls they handled (`calls.operator_id`), and reads the calls
 *    a transfer gave them access to (`call_access`: the colleague who brought them in, or whom
 *    they handed the call to; not a grant revoked since, as a warm transfer's that failed after the
 *    colleague joined); any other call, existing or not, is the same 404, so ids cannot be probed;
 *  - a supervisor reads a call only with a stated reason (X-Access-Reason), audited as break-glass;
 *  - records officers and auditors read no content (403 for a live call);
 *  - a destroyed call answers 410 with its certificate (content-free) to supervisors, records
 *    officers, auditors, and to an operator whose own actions on it are in the audit trail; other
 *    operators get the 404 of a call that never existed. A call whose content key is gone but whose
 *    rows remain (a deletion interrupted between its steps) is destroyed too: 410, certificate null.
 * Every content read is audited in the same transaction that read it; a 4xx writes nothing.
 */
@Injectable()
export class CallsService {
  constructor(
    private readonly calls: CallRepository,
    private readonly audit: AuditService,
    private readonly alerts: AlertsPublisher,
    private readonly auditTrail: AuditSearch,
  ) {}

  async list(user: Principal, limit: number, cursor?: string): Promise<CallPage> {
    try {
      return await this.calls.list(user.role === 'operator' ? { operatorId: user.id } : {}, { limit, cursor });
    } catch (e) {
      if (e instanceof InvalidCursorError)
        throw new BadRequestException({ message: 'cursor is not valid: use nextCursor from a previous page', fields: ['cursor'] });
      throw e;
    }
  }

  async read(user: Principal, callId: string, reasonHeader: string | string[] | undefined): Promise<CallDetail> {
    return this.calls.transaction(async (tx) => {
      // Locked in share mode: secure deletion waits for this read, so it sees the whole call or none.
      const call = await this.calls.lockShared(callId, tx);
      if (!call) throw await this.missing(user, callId, tx);
      if (await this.calls.contentKeyDestroyed(callId, tx)) throw await this.shredded(user, call, tx);
      await this.mayRead(user, call, tx);
      // Supervisors see every call's metadata (GET /calls), so asking for the reason here reveals nothing.
      const reason = user.role === 'supervisor' ? breakGlassReason(reasonHeader) : null;
      const detail = await this.calls.readContent(call, tx);
      await this.audit.append(
        reason
          ? { actorId: user.id, actorRole: user.role, action: 'call.break_glass', targetType: 'call', targetId: callId, detail: { reason } }
          : {
              actorId: user.id,
              actorRole: user.role,
              action: 'call.read',
              targetType: 'call',
              targetId: callId,
              detail: { notes: detail.notes.length, escalations: detail.escalations.length },
            },
        tx,
      );
      return detail;
    });
  }

  async addNote(user: Principal, callId: string, body: AddNoteDto): Promise<{ id: string; createdAt: Date }> {
    const amends = body.amendsNoteId ?? null;
    await this.handledBy(user, callId);
    if (amends && !(await this.calls.noteBelongsTo(amends, callId))) throw amendsError();
    await this.contentKey(callId);
    return this.calls.transaction(async (tx) => {
      await this.handledBy(user, callId, tx, 'shared');
      if (amends && !(await this.calls.noteBelongsTo(amends, callId, tx))) throw amendsError();
      const note = await this.calls.addNote({ callId, authorId: user.id, text: body.text, amendsNoteId: amends }, tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: amends ? 'note.amended' : 'note.added',
          targetType: 'call',
          targetId: callId,
          detail: { noteId: note.id, ...(amends ? { amendsNoteId: amends } : {}) },
        },
        tx,
      );
      return note;
    });
  }

  async assess(user: Principal, callId: string, level: RiskLevel) {
    await this.handledBy(user, callId);
    const result = await this.calls.transaction(async (tx) => {
      const call = await this.handledBy(user, callId, tx, 'exclusive');
      const r = await this.calls.addAssessment(call, level, user.id, tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'call.assessed',
          targetType: 'call',
          targetId: callId,
          detail: { riskLevel: level, retentionPolicy: r.retentionPolicy },
        },
        tx,
      );
      return r;
    });
    if (level === 'imminent')
      await this.alerts.escalation({ callId, operatorId: user.id, riskLevel: 'imminent', at: result.at.toISOString() });
    return { callId, riskLevel: result.riskLevel, retentionPolicy: result.retentionPolicy, retentionDeadline: result.retentionDeadline };
  }

  async escalate(user: Principal, callId: string, body: EscalationDto): Promise<{ id: string; createdAt: Date }> {
    await this.handledBy(user, callId);
    await this.contentKey(callId);
    const details: EscalationDetails = {
      disclosedTo: body.disclosedTo.trim(),
      legalBasis: body.legalBasis.trim(),
      fieldsDisclosed: body.fieldsDisclosed,
      emergencyContactConfirmedAt: body.emergencyContactConfirmedAt ? new Date(body.emergencyContactConfirmedAt).toISOString() : null,
      notes: body.notes?.trim() || null,
    };
    const created = await this.calls.transaction(async (tx) => {
      const call = await this.handledBy(user, callId, tx, 'exclusive');
      const e = await this.calls.addEscalation(call, user.id, details, tx);
      // A duty-to-warn escalation is an imminent-risk assessment too: level, history and retention follow.
      await this.calls.addAssessment(call, 'imminent', user.id, tx);
      // Content-free: which fields and to whom stay in the encrypted record; the trail keeps ids and a count.
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'escalation.created',
          targetType: 'call',
          targetId: callId,
          detail: { escalationId: e.id, fieldsDisclosed: details.fieldsDisclosed.length },
        },
        tx,
      );
      return e;
    });
    await this.alerts.escalation({
      callId,
      operatorId: user.id,
      riskLevel: 'imminent',
      at: created.createdAt.toISOString(),
      escalationId: created.id,
    });
    return created;
  }

  /** Escalation metadata (ids, times, co-signature) for a supervisor to co-sign; no content. */
  async escalations(user: Principal, callId: string): Promise<EscalationMeta[]> {
    const call = await this.calls.findSummary(callId);
    if (!call) throw await this.missing(user, callId);
    return this.calls.escalations(callId);
  }

  async cosign(user: Principal, callId: string, escalationId: string) {
    return this.calls.transaction(async (tx) => {
      const call = await this.calls.lockShared(callId, tx);
      if (!call) throw await this.missing(user, callId, tx);
      const r = await this.calls.cosignEscalation(callId, escalationId, user.id, tx);
      if (r.outcome !== 'cosigned') {
        throw r.outcome === 'not_found'
          ? new NotFoundException({ message: 'no such escalation on this call', fields: ['id'] })
          : new ConflictException('this escalation is co-signed already');
      }
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'escalation.cosigned',
          targetType: 'call',
          targetId: callId,
          detail: { escalationId },
        },
        tx,
      );
      return { id: escalationId, cosignedBy: user.id, cosignedAt: r.at };
    });
  }

  async placeHold(user: Principal, callId: string, reason: string) {
    return this.calls.transaction(async (tx) => {
      // The call row first, then the holds: the same order as secure deletion, so they cannot deadlock.
      const call = await this.calls.lockExclusive(callId, tx);
      if (!call) throw await this.missing(user, callId, tx);
      if (await this.calls.holdInForce(callId, tx)) throw new ConflictException('a legal hold is in force on this call already');
      const hold = await this.calls.placeHold(callId, reason.trim(), user.id, tx);
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'legal_hold.placed',
          targetType: 'call',
          targetId: callId,
          detail: { holdId: hold.id },
        },
        tx,
      );
      return { id: hold.id, callId, placedAt: hold.placedAt };
    });
  }

  async liftHold(user: Principal, callId: string): Promise<void> {
    await this.calls.transaction(async (tx) => {
      const call = await this.calls.lockExclusive(callId, tx);
      if (!call) throw await this.missing(user, callId, tx);
      const lifted = await this.calls.liftHold(callId, user.id, tx);
      if (!lifted) throw new NotFoundException('no legal hold is in force on this call');
      await this.audit.append(
        {
          actorId: user.id,
          actorRole: user.role,
          action: 'legal_hold.lifted',
          targetType: 'call',
          targetId: callId,
          detail: { holdId: lifted.id },
        },
        tx,
      );
    });
  }

  /** The call, if `user` is the operator who handled it; otherwise the error they are owed. */
  private async handledBy(user: Principal, callId: string, tx?: CallTx, lock?: 'shared' | 'exclusive'): Promise<CallSummary> {
    const call = tx
      ? await (lock === 'exclusive' ? this.calls.lockExclusive(callId, tx) : this.calls.lockShared(callId, tx))
      : await this.calls.findSummary(callId);
    if (!call) throw await this.missing(user, callId, tx);
    if (call.operatorId !== user.id) throw new NotFoundException(NOT_FOUND);
    return call;
  }

  /** Operators: the call they handle, or one they were given read access to by a transfer (call_access, not revoked). */
  private async mayRead(user: Principal, call: CallSummary, tx: CallTx): Promise<void> {
    if (user.role === 'operator' && call.operatorId !== user.id && !(await this.calls.hasReadGrant(call.callId, user.id, tx)))
      throw new NotFoundException(NOT_FOUND);
    if (user.role !== 'operator' && user.role !== 'supervisor') throw new ForbiddenException('your role reads no call content');
  }

  private async contentKey(callId: string): Promise<void> {
    try {
      await this.calls.ensureContentKey(callId);
    } catch (e) {
      if (e instanceof ContentKeyGoneError) throw new GoneException('this call is being destroyed; nothing can be added to it');
      throw e;
    }
  }

  /**
   * No call row: 410 with the certificate for those who may know of the destroyed call, else 404.
   * Inside a transaction, pass its `tx`: every query while it is open goes through it (a query on
   * another pooled connection while this one is held can wedge the pool under load).
   */
  private async missing(user: Principal, callId: string, tx?: CallTx): Promise<HttpException> {
    const certificate = await this.calls.certificate(callId, tx);
    if (certificate && (await this.mayKnowOfDestroyed(user, callId, tx))) return gone(certificate);
    return new NotFoundException(NOT_FOUND);
  }

  /** Rows present, key gone: destroyed in effect (the deletion will finish); 410, never a partial call. */
  private async shredded(user: Principal, call: CallSummary, tx: CallTx): Promise<HttpException> {
    if (user.role === 'operator' && call.operatorId !== user.id) return new NotFoundException(NOT_FOUND);
    return gone(await this.calls.certificate(call.callId, tx), 'this call is being destroyed; its deletion certificate will follow');
  }

  private async mayKnowOfDestroyed(user: Principal, callId: string, tx?: CallTx): Promise<boolean> {
    if (user.role === 'supervisor' || user.role === 'records_officer' || user.role === 'auditor') return true;
    if (user.role !== 'operator') return false;
    // The call row (and its operator_id) is gone; the audit trail still says who acted on it.
    return this.auditTrail.hasActedOn(user.id, 'call', callId, tx);
  }
}

function gone(
  certificate: DeletionCertificate | null,
  message = 'this call was destroyed; its deletion certificate remains',
): HttpException {
  return new HttpException({ error: 'Gone', message, certificate }, HttpStatus.GONE);
}

function amendsError(): BadRequestException {
  return new BadRequestException({ message: 'amendsNoteId must be a note of this call', fields: ['amendsNoteId'] });
}

/** The supervisor's stated reason: required, at most 500 characters; percent-encoded values (non-Latin-1 text) are decoded. */
function breakGlassReason(header: string | string[] | undefined): string {
  let raw = (Array.isArray(header) ? header.join(', ') : (header ?? '')).trim();
  if (/%[0-9A-Fa-f]{2}/.test(raw)) {
    try {
      raw = decodeURIComponent(raw).trim();
    } catch {
      /* not percent-encoding after all: keep it as sent */
    }
  }
  if (!raw)
    throw new ForbiddenException({
      message: 'a supervisor may read a call only with a stated reason: send it in the X-Access-Reason header (it is audited)',
      fields: ['X-Access-Reason'],
    });
  if (raw.length > MAX_REASON_LENGTH)
    throw new BadRequestException({
      message: `X-Access-Reason must be at most ${MAX_REASON_LENGTH} characters`,
      fields: ['X-Access-Reason'],
    });
  return raw;
}
