import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@hotline/audit';
import { ROLES, Role } from '@hotline/contract';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword } from './password';
import { Principal } from './principal';

export interface NewStaff {
  username: string;
  password: string;
  role: Role;
  displayName: string;
}

export interface StaffAccount {
  id: string;
  username: string;
  role: Role;
  displayName: string;
  active: boolean;
}

export interface StaffCredentials extends StaffAccount {
  passwordHash: string;
  lockedUntil: Date | null;
}

export class DuplicateUsernameError extends Error {
  constructor(readonly username: string) {
    super('that username is taken');
    this.name = 'DuplicateUsernameError';
  }
}

export const USERNAME_PATTERN = /^[a-zA-Z0-9_.-]{3,64}$/;

/** Who did it, for the audit trail: a signed-in principal, or the system itself (bootstrap, CLI). */
export type StaffActor = Principal | { system: string };

export interface StaffChange {
  active?: boolean;
  role?: Role;
  displayName?: string;
}

export class SelfLockoutError extends Error {
  constructor() {
    super('an admin cannot deactivate their own account or give up their own admin role');
    this.name = 'SelfLockoutError';
  }
}

/**
 * Staff accounts: created by admins (`POST /users`), by `BOOTSTRAP_ADMIN` and by `users:create`.
 * Used by the records app and by the CLI; the demo creates its accounts through it too.
 */
@Injectable()
export class StaffService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  async create(input: NewStaff, actor: StaffActor, manager?: EntityManager): Promise<StaffAccount> {
    if (!USERNAME_PATTERN.test(input.username)) throw new Error('username must be 3 to 64 letters, digits, dots, dashes or underscores');
    if (input.password.length < MIN_PASSWORD_LENGTH || input.password.length > MAX_PASSWORD_LENGTH)
      throw new Error(`password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`);
    if (!ROLES.includes(input.role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
    const displayName = input.displayName.trim();
    if (!displayName || displayName.length > 128) throw new Error('displayName must be 1 to 128 characters');
    const passwordHash = await hashPassword(input.password);
    const id = randomUUID();
    const work = async (m: EntityManager) => {
      try {
        await m.query(
          'INSERT INTO staff (id, username, display_name, password_hash, role, active, failed_logins, locked_until, created_at) VALUES (?, ?, ?, ?, ?, 1, 0, NULL, ?)',
          [id, input.username, displayName, passwordHash, input.role, new Date()],
        );
      } catch (e) {
        if ((e as { code?: string }).code === 'ER_DUP_ENTRY') throw new DuplicateUsernameError(input.username);
        throw e;
      }
      await this.audit.append(
        {
          actorId: 'system' in actor ? null : actor.id,
          actorRole: 'system' in actor ? 'system' : actor.role,
          action: 'staff.created',
          targetType: 'staff',
          targetId: id,
          detail: { username: input.username, role: input.role, ...('system' in actor ? { by: actor.system } : {}) },
        },
        m,
      );
    };
    if (manager) await work(manager);
    else await this.ds.transaction(work);
    return { id, username: input.username, role: input.role, displayName, active: true };
  }

  /**
   * An admin changes an account: active, role, display name (any of them). Audited with what
   * changed (never the name itself). Returns the account as it is now, or null when there is none.
   * An admin cannot deactivate themselves or take away their own admin role (someone must remain).
   */
  async update(
    id: string,
    change: StaffChange,
    actor: Principal,
  ): Promise<{ account: StaffAccount; changed: (keyof StaffChange)[] } | null> {
    if (id === actor.id && (change.active === false || (change.role !== undefined && change.role !== 'admin'))) {
      throw new SelfLockoutError();
    }
    return this.ds.transaction(async (m) => {
      const [row] = await m.query('SELECT id, username, role, display_name, active FROM staff WHERE id = ? FOR UPDATE', [id]);
      if (!row) return null;
      const before = toAccount(row);
      const after: StaffAccount = {
        ...before,
        ...(change.active !== undefined ? { active: change.active } : {}),
        ...(change.role !== undefined ? { role: change.role } : {}),
        ...(change.displayName !== undefined ? { displayName: change.displayName.trim() } : {}),
      };
      const changed = (['active', 'role', 'displayName'] as const).filter((k) => after[k] !== before[k]);
      if (!changed.length) return { account: before, changed };
      await m.query('UPDATE staff SET active = ?, role = ?, display_name = ? WHERE id = ?', [
        after.active ? 1 : 0,
        after.role,
        after.displayName,
        id,
      ]);
      await this.audit.append(
        {
          actorId: actor.id,
          actorRole: actor.role,
          action: 'staff.updated',
          targetType: 'staff',
          targetId: id,
          detail: {
            changed,
            ...(changed.includes('active') ? { active: after.active } : {}),
            ...(changed.includes('role') ? { role: after.role, previousRole: before.role } : {}),
          },
        },
        m,
      );
      return { account: after, changed };
    });
  }

  async findById(id: string): Promise<StaffAccount | null> {
    const [row] = await this.ds.query('SELECT id, username, role, display_name, active FROM staff WHERE id = ?', [id]);
    return row ? toAccount(row) : null;
  }

  async credentials(username: string): Promise<StaffCredentials | null> {
    const [row] = await this.ds.query(
      'SELECT id, username, role, display_name, active, password_hash, locked_until FROM staff WHERE username = ?',
      [username],
    );
    return row
      ? { ...toAccount(row), passwordHash: row.password_hash, lockedUntil: row.locked_until ? new Date(row.locked_until) : null }
      : null;
  }

  async count(): Promise<number> {
    const [{ n }] = await this.ds.query('SELECT COUNT(*) AS n FROM staff');
    return Number(n);
  }

  /**
   * `BOOTSTRAP_ADMIN`: creates that admin when no staff account exists. A named lock keeps two
   * records processes starting together from both creating it.
   */
  async bootstrapAdmin(spec: string): Promise<'created' | 'staff_exist'> {
    const colon = spec.indexOf(':');
    const username = spec.slice(0, colon);
    const password = spec.slice(colon + 1);
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const [{ got }] = await runner.query("SELECT GET_LOCK('hotline_bootstrap_admin', 10) AS got");
      if (Number(got) !== 1) throw new Error('BOOTSTRAP_ADMIN: could not take the bootstrap lock');
      try {
        const [{ n }] = await runner.query('SELECT COUNT(*) AS n FROM staff');
        if (Number(n) > 0) return 'staff_exist';
        await this.create({ username, password, role: 'admin', displayName: username }, { system: 'BOOTSTRAP_ADMIN' });
        return 'created';
      } finally {
        await runner.query("SELECT RELEASE_LOCK('hotline_bootstrap_admin')");
      }
    } finally {
      await runner.release();
    }
  }
}

function toAccount(row: any): StaffAccount {
  return { id: row.id, username: row.username, role: row.role, displayName: row.display_name, active: Boolean(Number(row.active)) };
}
