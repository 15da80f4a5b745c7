import { BadRequestException, Inject, Injectable, Logger, NotFoundException, OnApplicationBootstrap } from '@nestjs/common';
import type Redis from 'ioredis';
import { AuditService } from '@hotline/audit';
import { Principal } from '@hotline/auth';
import { ENV, Env } from '@hotline/config';
import { ContactKeys, shortPseudonym } from '@hotline/crypto';
import { REDIS } from '@hotline/observability';
import { DeletionRequestBook, DeletionRequestView } from '@hotline/privacy';
import { DeletionRequestDto, DeletionRequestPageDto } from './dto';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/**
 * Who asked: the short pseudonym while the request holds the caller's pseudonym (pending, in progress,
 * cancelled: the caller's calls are still there), and only the request's own reference once it has
 * been carried out and holds no pseudonym any more.
 */
export function callerReference(r: { id: string; caller_pseudonym: string | null }): string {
  return r.caller_pseudonym ? shortPseudonym(r.caller_pseudonym) : `R-${String(r.id).slice(0, 8).toUpperCase()}`;
}

function toDto(r: DeletionRequestView): DeletionRequestDto {
  return {
    id: r.id,
    caller: callerReference(r),
    requestedAt: iso(r.requested_at)!,
    verifiedBy: r.verified_by,
    status: r.status,
    executeAfter: iso(r.execute_after)!,
    callsTotal: Number(r.calls_total),
    callsHeld: Number(r.calls_held),
    callsDeleted: Number(r.calls_deleted),
    completedAt: iso(r.completed_at),
    cancelledAt: iso(r.cancelled_at),
    closingSmsPending: !!Number(r.closing_sms_pending),
  };
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${new Date(at).toISOString()}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new BadRequestException({ message: 'cursor is not valid: use nextCursor from a previous page', fields: ['cursor'] });
  return { at: new Date(m[1]), id: m[2] };
}

/** Deletion requests made by phone, for records officers: what was asked, when, and what came of it. */
@Injectable()
export class DeletionRequestsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(DeletionRequestsService.name);

  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly requests: DeletionRequestBook,
    private readonly contactKeys: ContactKeys,
    private readonly audit: AuditService,
  ) {}

  /**
   * Records holds MASTER_KEY and the keystore too, so it tops up the pool of one-time contact keys,
   * and the gateway can seal numbers even before a worker has started.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.env.MASTER_KEY) return;
    await this.contactKeys
      .publish(this.redis)
      .catch((e) => this.logger.warn({ msg: 'contact keys not published', error: (e as Error).name }));
  }

  async list(user: Principal, limit: number, cursor?: string): Promise<DeletionRequestPageDto> {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = await this.requests.page(limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'deletion_requests.listed',
      targetType: 'deletion_request',
      targetId: null,
      detail: { count: page.length },
    });
    return { items: page.map(toDto), nextCursor: rows.length > limit && last ? encodeCursor(last.requested_at, last.id) : null };
  }

  async get(user: Principal, id: string): Promise<DeletionRequestDto> {
    const row = await this.requests.view(id);
    if (!row) throw new NotFoundException('no such deletion request');
    await this.audit.append({
      actorId: user.id,
      actorRole: user.role,
      action: 'deletion_request.read',
      targetType: 'deletion_request',
      targetId: id,
      detail: {},
    });
    return toDto(row);
  }
}
