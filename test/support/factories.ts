import { INestApplication } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { StaffService, TokenService } from '@hotline/auth';
import { CALLS_RETENTION, againOnLockConflict, openCall } from '@hotline/calls';
import type { RetentionConfig } from '@hotline/config';
import type { CallStatus, Role } from '@hotline/contract';
import { assignCall, setCallStatus } from '@hotline/calls/fixtures';

export interface TestStaff {
  id: string;
  username: string;
  password: string;
  role: Role;
  displayName: string;
  /** A signed access token, as login would give. */
  token: string;
}

/**
 * Test data through the same code the system uses: staff via StaffService (argon2id, audited),
 * calls via `openCall` (what the gateway calls at intake) and then assigned to an operator as the
 * gateway does on accept.
 */
export class Factory {
  private readonly appOf: () => INestApplication;

  /**
   * `app` may be given as a function, for a factory made before its app starts (withRecordsApp):
   * the app is looked up at each use, from the first test hook on.
   */
  constructor(app: INestApplication | (() => INestApplication)) {
    this.appOf = typeof app === 'function' ? app : () => app;
  }

  get app(): INestApplication {
    return this.appOf();
  }
  get db(): DataSource {
    return this.app.get(getDataSourceToken());
  }
  private get staffService(): StaffService {
    return this.app.get(StaffService, { strict: false });
  }
  private get tokens(): TokenService {
    return this.app.get(TokenService, { strict: false });
  }
  private get audit(): AuditService {
    return this.app.get(AuditService, { strict: false });
  }
  private get retention(): RetentionConfig {
    return this.app.get(CALLS_RETENTION, { strict: false });
  }

  http() {
    return request(this.app.getHttpServer());
  }

  async staff(role: Role, opts: { username?: string; password?: string; displayName?: string } = {}): Promise<TestStaff> {
    const username = opts.username ?? `${role.replace('_', '-')}-${randomBytes(4).toString('hex')}`;
    const password = opts.password ?? `pw-${randomBytes(9).toString('base64url')}`;
    const displayName = opts.displayName ?? `Test ${role}`;
    const a = await this.staffService.create({ username, password, role, displayName }, { system: 'test' });
    return { id: a.id, username, password, role, displayName, token: this.tokens.sign({ id: a.id, username, role }) };
  }

  /** Opens a call (metadata only, default policy) and, when `operator` is given, assigns it as answered by them. */
  async call(
    opts: { operator?: { id: string }; startedAt?: Date; callerPseudonym?: string | null; status?: CallStatus } = {},
  ): Promise<string> {
    const callId = randomUUID();
    const startedAt = opts.startedAt ?? new Date();
    // As the gateway's write would be (a job tried again): secure deletion running meanwhile may pick it as a deadlock's victim.
    await againOnLockConflict(() =>
      openCall(
        this.db,
        this.retention,
        {
          callId,
          callSid: 'CA' + randomBytes(16).toString('hex'),
          callerPseudonym: opts.callerPseudonym ?? null,
          recordingConsent: false,
          wordingVersion: 'test',
          startedAt,
        },
        (m, entry) => this.audit.append(entry, m),
      ),
    );
    if (opts.operator) {
      const { id } = opts.operator;
      await againOnLockConflict(() =>
        assignCall(this.db, callId, {
          operatorId: id,
          status: opts.status ?? 'connected',
          answeredAt: new Date(startedAt.getTime() + 12_000),
        }),
      );
    } else if (opts.status) {
      const { status } = opts;
      await againOnLockConflict(() => setCallStatus(this.db, callId, status));
    }
    return callId;
  }

  async count(table: string, where = '1=1', params: unknown[] = []): Promise<number> {
    const [{ n }] = await this.db.query(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${where}`, params);
    return Number(n);
  }
}

export const bearer = (s: { token: string }) => ({ Authorization: `Bearer ${s.token}` });
