import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'crypto';
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
  /** Signed in with a one-time password an admin set: it must be changed before anything else. */
  mustChangePassword: boolean;
  /** The TOTP secret (base32) once enrolled; null: not enrolled. */
  totpSecret: string | null;
}

/** A WebAuthn credential as stored: its public key (COSE, base64url) and signature counter. */
export interface StoredPasskey {
  id: string;
  publicKey: string;
  counter: number;
  transports: string[];
  createdAt: string;
  lastUsedAt: string | null;
}

/** An account as the admin console lists it (no secret, no hash). */
export interface StaffListing extends StaffAccount {
  factorEnrolled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
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

/** Enrolment replaces nothing: the member has a second factor already (an admin's factor reset is the way to replace it). */
export class FactorAlreadyEnrolledError extends Error {
  constructor() {
    super('a second factor is enrolled already: an admin must reset it before another is enrolled');
    this.name = 'FactorAlreadyEnrolledError';
  }
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

  /** Every account, for the admin console (no secret, no hash, no content). */
  async list(): Promise<StaffListing[]> {
    const rows = await this.ds.query(
      'SELECT id, username, role, display_name, active, must_change_password, factor_enrolled_at, created_at FROM staff ORDER BY username LIMIT 5000',
    );
    return rows.map((r: any) => ({
      ...toAccount(r),
      factorEnrolled: r.factor_enrolled_at !== null,
      mustChangePassword: Boolean(Number(r.must_change_password)),
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }

  /**
   * An admin resets a member's password: a one-time password (returned once, shown to the admin to
   * pass on), which signs in only to choose a new one. Audited (never the password).
   */
  async resetPassword(id: string, actor: Principal): Promise<{ account: StaffAccount; oneTimePassword: string } | null> {
    const oneTimePassword = randomBytes(12).toString('base64url');
    const hash = await hashPassword(oneTimePassword);
    return this.ds.transaction(async (m) => {
      const [row] = await m.query('SELECT id, username, role, display_name, active FROM staff WHERE id = ? FOR UPDATE', [id]);
      if (!row) return null;
      await m.query('UPDATE staff SET password_hash = ?, must_change_password = 1 WHERE id = ?', [hash, id]);
      await this.audit.append(
        { actorId: actor.id, actorRole: actor.role, action: 'staff.password_reset', targetType: 'staff', targetId: id },
        m,
      );
      return { account: toAccount(row), oneTimePassword };
    });
  }

  /** The member chose a new password (checked by the caller: current password, length, breach list). Audited. */
  async setOwnPassword(id: string, newPassword: string, actor: Principal): Promise<void> {
    const hash = await hashPassword(newPassword);
    await this.ds.transaction(async (m) => {
      await m.query('UPDATE staff SET password_hash = ?, must_change_password = 0 WHERE id = ?', [hash, id]);
      await this.audit.append(
        { actorId: actor.id, actorRole: actor.role, action: 'staff.password_changed', targetType: 'staff', targetId: id },
        m,
      );
    });
  }

  /**
   * Enrolment completed: the secret (sealed by the caller, StaffSecretSeal) and the recovery codes'
   * hashes, only where the member has no second factor at all (no TOTP secret, no passkey): enrolment
   * replaces nothing (FactorAlreadyEnrolledError), whatever a challenge claims. The row is locked so
   * that two enrolments racing each other cannot both pass. Audited.
   */
  async enrolTotp(id: string, secret: string, recoveryHashes: string[], step: number, actor: Principal): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [row] = await m.query('SELECT totp_secret FROM staff WHERE id = ? FOR UPDATE', [id]);
      const [{ n }] = await m.query('SELECT COUNT(*) AS n FROM staff_passkeys WHERE staff_id = ?', [id]);
      if (!row || row.totp_secret !== null || Number(n) > 0) throw new FactorAlreadyEnrolledError();
      await m.query('UPDATE staff SET totp_secret = ?, totp_last_step = ?, factor_enrolled_at = ? WHERE id = ? AND totp_secret IS NULL', [
        secret,
        step,
        new Date(),
        id,
      ]);
      await m.query('DELETE FROM staff_recovery_codes WHERE staff_id = ?', [id]);
      for (const h of recoveryHashes) await m.query('INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES (?, ?)', [id, h]);
      await this.audit.append(
        {
          actorId: actor.id,
          actorRole: actor.role,
          action: 'auth.factor_enrolled',
          targetType: 'staff',
          targetId: id,
          detail: { factor: 'totp' },
        },
        m,
      );
    });
  }

  /** Which second factors the member has (none: they enrol at their next sign-in if their role needs one). */
  async factorsOf(id: string): Promise<{ totp: boolean; passkey: boolean }> {
    const [row] = await this.ds.query(
      'SELECT totp_secret IS NOT NULL AS totp, (SELECT COUNT(*) FROM staff_passkeys WHERE staff_id = ?) AS passkeys FROM staff WHERE id = ?',
      [id, id],
    );
    return { totp: Boolean(Number(row?.totp ?? 0)), passkey: Number(row?.passkeys ?? 0) > 0 };
  }

  /** The same TOTP secret, sealed again (under a new master key). */
  async resealTotp(id: string, sealed: string): Promise<void> {
    await this.ds.query('UPDATE staff SET totp_secret = ? WHERE id = ? AND totp_secret IS NOT NULL', [sealed, id]);
  }

  /** Takes a TOTP time step for this member if it is later than the last one taken (a code works once). */
  async takeTotpStep(id: string, step: number): Promise<boolean> {
    const res = await this.ds.query('UPDATE staff SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)', [
      step,
      id,
      step,
    ]);
    return Number(res?.affectedRows ?? 0) === 1;
  }

  /** Uses a recovery code once: true when it was the member's and unused. How many remain comes back too. */
  async useRecoveryCode(id: string, hash: string): Promise<{ used: boolean; remaining: number }> {
    const res = await this.ds.query(
      'UPDATE staff_recovery_codes SET used_at = ? WHERE staff_id = ? AND code_hash = ? AND used_at IS NULL',
      [new Date(), id, hash],
    );
    const [{ n }] = await this.ds.query('SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = ? AND used_at IS NULL', [id]);
    return { used: Number(res?.affectedRows ?? 0) === 1, remaining: Number(n) };
  }

  /** An admin resets a member's second factor (TOTP, recovery codes and passkeys): they enrol again at their next sign-in. Audited. */
  async resetFactor(id: string, actor: Principal): Promise<StaffAccount | null> {
    return this.ds.transaction(async (m) => {
      const [row] = await m.query('SELECT id, username, role, display_name, active FROM staff WHERE id = ? FOR UPDATE', [id]);
      if (!row) return null;
      await m.query('UPDATE staff SET totp_secret = NULL, totp_last_step = NULL, factor_enrolled_at = NULL WHERE id = ?', [id]);
      await m.query('DELETE FROM staff_recovery_codes WHERE staff_id = ?', [id]);
      await m.query('DELETE FROM staff_passkeys WHERE staff_id = ?', [id]);
      await this.audit.append(
        { actorId: actor.id, actorRole: actor.role, action: 'staff.factor_reset', targetType: 'staff', targetId: id },
        m,
      );
      return toAccount(row);
    });
  }

  /** The member's passkeys (WebAuthn credentials: public keys only). */
  async passkeys(id: string): Promise<StoredPasskey[]> {
    const rows = await this.ds.query(
      'SELECT credential_id, public_key, counter, transports, created_at, last_used_at FROM staff_passkeys WHERE staff_id = ? ORDER BY created_at',
      [id],
    );
    return rows.map((r: any) => ({
      id: r.credential_id,
      publicKey: r.public_key,
      counter: Number(r.counter),
      transports: r.transports ? String(r.transports).split(',') : [],
      createdAt: new Date(r.created_at).toISOString(),
      lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
    }));
  }

  /** A passkey registered by its member. Audited (the credential id only). */
  async addPasskey(actor: Principal, p: { id: string; publicKey: string; counter: number; transports: string[] }): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(
        'INSERT INTO staff_passkeys (credential_id, staff_id, public_key, counter, transports, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        [p.id, actor.id, p.publicKey, p.counter, p.transports.join(',') || null, new Date()],
      );
      await this.audit.append(
        {
          actorId: actor.id,
          actorRole: actor.role,
          action: 'auth.passkey_added',
          targetType: 'staff',
          targetId: actor.id,
          detail: { credentialId: p.id },
        },
        m,
      );
    });
  }

  /** A passkey signed in: its signature counter moves on (a clone would be caught going backwards). */
  async usedPasskey(staffId: string, credentialId: string, counter: number): Promise<void> {
    await this.ds.query('UPDATE staff_passkeys SET counter = ?, last_used_at = ? WHERE staff_id = ? AND credential_id = ?', [
      counter,
      new Date(),
      staffId,
      credentialId,
    ]);
  }

  /** The highest agreement version this member accepted (null: none). */
  async acceptedVersions(id: string): Promise<string[]> {
    const rows = await this.ds.query('SELECT version FROM agreement_acceptances WHERE staff_id = ?', [id]);
    return rows.map((r: { version: string }) => r.version);
  }

  /** The member accepted `version`; audited (version and time). Accepting again changes nothing. */
  async acceptAgreement(
    actor: Principal | StaffAccount,
    version: string,
    at = new Date(),
  ): Promise<{ acceptedAt: string; already: boolean }> {
    return this.ds.transaction(async (m) => {
      const [prior] = await m.query('SELECT accepted_at FROM agreement_acceptances WHERE staff_id = ? AND version = ? FOR UPDATE', [
        actor.id,
        version,
      ]);
      if (prior) return { acceptedAt: new Date(prior.accepted_at).toISOString(), already: true };
      await m.query('INSERT INTO agreement_acceptances (staff_id, version, accepted_at) VALUES (?, ?, ?)', [actor.id, version, at]);
      await this.audit.append(
        {
          actorId: actor.id,
          actorRole: actor.role,
          action: 'agreement.accepted',
          targetType: 'staff',
          targetId: actor.id,
          detail: { version },
        },
        m,
      );
      return { acceptedAt: at.toISOString(), already: false };
    });
  }

  /** Who accepted which version, newest first (ids and usernames; for admins and auditors). */
  async acceptances(version?: string): Promise<{ staffId: string; username: string; role: Role; version: string; acceptedAt: string }[]> {
    const rows = await this.ds.query(
      `SELECT a.staff_id, s.username, s.role, a.version, a.accepted_at FROM agreement_acceptances a JOIN staff s ON s.id = a.staff_id
       ${version ? 'WHERE a.version = ?' : ''} ORDER BY a.accepted_at DESC LIMIT 5000`,
      version ? [version] : [],
    );
    return rows.map((r: any) => ({
      staffId: r.staff_id,
      username: r.username,
      role: r.role,
      version: r.version,
      acceptedAt: new Date(r.accepted_at).toISOString(),
    }));
  }

  async findById(id: string): Promise<StaffAccount | null> {
    const [row] = await this.ds.query('SELECT id, username, role, display_name, active FROM staff WHERE id = ?', [id]);
    return row ? toAccount(row) : null;
  }

  async credentials(username: string): Promise<StaffCredentials | null> {
    const [row] = await this.ds.query(
      'SELECT id, username, role, display_name, active, password_hash, locked_until, must_change_password, totp_secret FROM staff WHERE username = ?',
      [username],
    );
    return row
      ? {
          ...toAccount(row),
          passwordHash: row.password_hash,
          lockedUntil: row.locked_until ? new Date(row.locked_until) : null,
          mustChangePassword: Boolean(Number(row.must_change_password)),
          totpSecret: row.totp_secret ?? null,
        }
      : null;
  }

  /**
   * A sign-in succeeded, in `m`: locks the account's row (simultaneous sign-ins of one account are
   * ordered by it), clears its lock-out and returns the refused sign-ins counted since the last one.
   */
  async signedIn(id: string, m: EntityManager): Promise<number> {
    const [row] = await m.query('SELECT failed_logins FROM staff WHERE id = ? FOR UPDATE', [id]);
    await m.query('UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = ?', [id]);
    return Number(row?.failed_logins ?? 0);
  }

  /** One more refused sign-in for the account holder to be told of (`staff.failed_logins`, reset by a sign-in). */
  async countFailedSignIn(id: string): Promise<void> {
    await this.ds.query('UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = ?', [id]);
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
