import { ConflictException, HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'crypto';
import type Redis from 'ioredis';
import { toDataURL } from 'qrcode';
import { generateAuthenticationOptions, verifyAuthenticationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { DataSource } from 'typeorm';
import { AuditSearch, AuditService } from '@hotline/audit';
import {
  AuthStateKeys,
  FactorAlreadyEnrolledError,
  SessionRegistry,
  StaffCredentials,
  StaffService,
  TokenService,
  compareVersions,
  dummyPasswordHash,
  looksLikeRecoveryCode,
  newRecoveryCodes,
  totpSecretFrom,
  recoveryCodeHash,
  secondFactorRoles,
  totpFor,
  totpStep,
  verifyPassword,
  SessionLedger,
} from '@hotline/auth';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { StaffSecretSeal } from '@hotline/crypto';
import { REDIS, counter } from '@hotline/observability';
import type { Role } from '@hotline/contract';
import { LoginThrottle, Scope } from './login-throttle';
import { webauthnParty } from './passkeys';

export interface LoginResult {
  accessToken: string;
  user: { id: string; username: string; role: Role; displayName: string };
  /** When this account last signed in successfully before this sign-in (null: never). */
  lastSignInAt: string | null;
  /** Sign-ins refused for this account since then (wrong password, slowed or locked), from any address. */
  failedAttemptsSince: number;
  /** Signed in with a one-time password: only POST /auth/password is served until a new one is chosen. */
  mustChangePassword: boolean;
  /** The console locks after this long without input (CONSOLE_IDLE_LOCK_SECONDS). */
  idleLockSeconds: number;
  /** After enrolment only: the recovery codes, shown this once. */
  recoveryCodes?: string[];
  /** After a recovery code: how many remain. */
  recoveryCodesLeft?: number;
}

/** The password was right and a second factor is due: no token yet. */
export interface FactorChallenge {
  factorRequired: 'totp' | 'enrol';
  challenge: string;
  /** The member has a passkey: POST /auth/factor/passkey/options, then /auth/factor/passkey, in place of a code. */
  passkey?: boolean;
}

/** Where the sign-in came from, kept with the session for its member to see. */
export interface ClientInfo {
  address: string;
  userAgent?: string;
}

/** A challenge lives in Redis for this long; at most this many codes are tried on one. */
export const CHALLENGE_SECONDS = 5 * 60;
export const CHALLENGE_ATTEMPTS = 5;
/**
 * A sign-in between its password and its second factor, in Redis MAC'ed (AuthStateKeys: under a key
 * only records holds, bound to this key's name): a challenge written or altered by anyone else does
 * not verify and is refused like an unknown one. The TOTP secret offered at enrolment is not in it:
 * records derives it from its own key and the challenge, so it is neither readable in Redis nor
 * choosable by whoever writes there (`enrolmentSecret`). The key names a hash of the challenge, not
 * the challenge itself: whoever lists Redis's keys learns nothing to send as one.
 */
export const CHALLENGE = (id: string) => `hl:{auth}:challenge:${createHash('sha256').update(id).digest('base64url')}`;
interface Challenge {
  staffId: string;
  username: string;
  kind: 'totp' | 'enrol';
  attempts: number;
  /** Enrolment: the secret was offered (POST /auth/factor/enrol), until a code proves the member's app holds it. */
  enrolling?: boolean;
  /** A passkey sign-in: the WebAuthn challenge the authenticator must sign. */
  webauthnChallenge?: string;
}

const BAD_CREDENTIALS = 'wrong username or password';

function factorEnrolled(): ConflictException {
  return new ConflictException({
    error: 'factor_enrolled',
    message: 'a second factor is enrolled already for this account: sign in again with it (an admin can reset it)',
  });
}
const logins = () => counter('hotline_logins_total', 'Sign-in attempts by outcome', ['outcome']);

/**
 * Sign-in. One answer for an unknown username and a wrong password, with the same work done
 * (argon2id against a dummy hash), so neither the message nor the timing tells which. Every
 * attempt, whatever its outcome, is audited (never the password). No account is ever locked
 * (LoginThrottle): a stranger could otherwise keep staff out; instead the account holder is told
 * at their next sign-in how many attempts failed since the one before (`staff.failed_logins`).
 */
@Injectable()
export class LoginService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly staff: StaffService,
    private readonly tokens: TokenService,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
    private readonly sessions: SessionRegistry,
    private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ENV) private readonly env: Env,
    private readonly secrets: StaffSecretSeal,
    private readonly keys: AuthStateKeys,
    private readonly ledger: SessionLedger,
    private readonly auditTrail: AuditSearch,
  ) {}

  async login(username: string, password: string, client: ClientInfo | string): Promise<LoginResult | FactorChallenge> {
    const info: ClientInfo = typeof client === 'string' ? { address: client } : client;
    const address = info.address;
    const account = await this.staff.credentials(username);
    const actor = account ? { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id } : {};
    const known = account ? { username: account.username } : {};

    // Counted before the password is checked, so parallel guesses cannot outrun the limit.
    const gate = await this.throttle.reserve(username, address);
    if (gate.state !== 'open') {
      const { state, scope, retryAfterSeconds } = gate;
      if (account) await this.countFailure(account.id);
      await this.audit.append({ ...actor, action: 'auth.login_failed', detail: { ...known, reason: state, scope } });
      throw refusal(state, scope, retryAfterSeconds);
    }

    const ok = await verifyPassword(account?.passwordHash ?? (await dummyPasswordHash()), password);
    if (!ok || !account || !account.active) {
      const reason = !account ? 'unknown_user' : !ok ? 'bad_password' : 'inactive';
      const { locked } = await this.throttle.failed(gate.attempt);
      if (account) await this.countFailure(account.id);
      await this.audit.append({
        ...actor,
        action: 'auth.login_failed',
        detail: { ...known, reason, ...(locked ? { locked: locked.scope } : {}) },
      });
      if (locked) throw refusal('locked', locked.scope, locked.seconds);
      logins().inc({ outcome: 'failed' });
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }

    await this.throttle.succeeded(gate.attempt);
    const passkeys = (await this.staff.passkeys(account.id)).length > 0;
    if (secondFactorRoles(this.env.SECOND_FACTOR_ROLES).has(account.role) || account.totpSecret || passkeys) {
      const kind = account.totpSecret || passkeys ? 'totp' : 'enrol';
      const challenge = randomBytes(32).toString('base64url');
      const c: Challenge = { staffId: account.id, username: account.username, kind, attempts: 0 };
      await this.redis.set(CHALLENGE(challenge), this.keys.mac(CHALLENGE(challenge), c), 'EX', CHALLENGE_SECONDS);
      await this.audit.append({ ...actor, action: 'auth.factor_challenge', detail: { username: account.username, kind } });
      return { factorRequired: kind, challenge, ...(passkeys ? { passkey: true } : {}) };
    }
    return this.finish(account, info);
  }

  /**
   * An `enrol` challenge: a new TOTP secret to scan (derived again from the challenge until a code
   * proves it). Only for a member with no second factor: enrolment replaces nothing (409).
   */
  async enrol(challenge: string): Promise<{ secret: string; otpauthUrl: string; qrDataUrl: string }> {
    const c = await this.challenge(challenge);
    if (c.kind !== 'enrol') throw new UnauthorizedException('this sign-in asks for a code, not an enrolment');
    const has = await this.staff.factorsOf(c.staffId);
    if (has.totp || has.passkey) {
      await this.redis.del(CHALLENGE(challenge));
      throw factorEnrolled();
    }
    if (!c.enrolling) {
      c.enrolling = true;
      await this.saveChallenge(challenge, c);
    }
    const secret = this.enrolmentSecret(challenge, c);
    const otpauthUrl = totpFor(secret, c.username).toString();
    return { secret, otpauthUrl, qrDataUrl: await toDataURL(otpauthUrl, { margin: 1, width: 220 }) };
  }

  /** The TOTP secret offered with an `enrol` challenge: only records can compute it (its key, the challenge id, the member). */
  private enrolmentSecret(challenge: string, c: Challenge): string {
    return totpSecretFrom(this.keys.derive('totp-enrolment', [challenge, c.staffId]));
  }

  /**
   * The second step: a TOTP code (or, once enrolled, a recovery code). Throttled like passwords
   * (LoginThrottle, under the username's own factor key), at most CHALLENGE_ATTEMPTS codes per
   * challenge, each failure counted for the account holder and audited. A TOTP code is good once.
   */
  async factor(challenge: string, code: string, client: ClientInfo): Promise<LoginResult> {
    const c = await this.challenge(challenge);
    const account = await this.staff.credentials(c.username);
    if (!account || account.id !== c.staffId || !account.active) {
      await this.redis.del(CHALLENGE(challenge));
      throw new UnauthorizedException('sign in again');
    }
    const actor = { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id };
    const gate = await this.throttle.reserve(`factor:${account.username}`, client.address);
    if (gate.state !== 'open') {
      await this.countFailure(account.id);
      await this.audit.append({ ...actor, action: 'auth.factor_failed', detail: { reason: gate.state, scope: gate.scope } });
      throw refusal(gate.state, gate.scope, gate.retryAfterSeconds);
    }
    const now = this.clock.nowMs();
    let ok = false;
    let method: 'totp' | 'recovery' = 'totp';
    let recoveryCodesLeft: number | undefined;
    if (c.kind === 'enrol') {
      const pending = c.enrolling ? this.enrolmentSecret(challenge, c) : null;
      const step = pending ? totpStep(pending, code.trim(), now) : null;
      if (pending && step !== null) {
        const codes = newRecoveryCodes();
        const sealed = this.secrets.seal(account.id, pending);
        try {
          await this.staff.enrolTotp(account.id, sealed, codes.map(recoveryCodeHash), step, principalOf(account));
        } catch (e) {
          if (!(e instanceof FactorAlreadyEnrolledError)) throw e;
          // Enrolment replaces nothing: a factor was enrolled since this challenge was issued (another sign-in).
          await this.throttle.failed(gate.attempt);
          await this.redis.del(CHALLENGE(challenge));
          await this.audit.append({ ...actor, action: 'auth.factor_failed', detail: { reason: 'factor_enrolled', method: 'totp' } });
          throw factorEnrolled();
        }
        await this.throttle.succeeded(gate.attempt);
        await this.redis.del(CHALLENGE(challenge));
        return { ...(await this.finish({ ...account, totpSecret: sealed }, client)), recoveryCodes: codes };
      }
    } else if (account.totpSecret) {
      if (looksLikeRecoveryCode(code)) {
        method = 'recovery';
        const r = await this.staff.useRecoveryCode(account.id, recoveryCodeHash(code));
        ok = r.used;
        recoveryCodesLeft = r.remaining;
      } else {
        const { secret, stale } = this.secrets.open(account.id, account.totpSecret);
        const step = totpStep(secret, code.trim(), now);
        ok = step !== null && (await this.staff.takeTotpStep(account.id, step));
        // Sealed under a master key being rotated out: sealed again under the current one.
        if (ok && stale) await this.staff.resealTotp(account.id, this.secrets.seal(account.id, secret));
      }
    }
    if (!ok) {
      const { locked } = await this.throttle.failed(gate.attempt);
      await this.countFailure(account.id);
      c.attempts += 1;
      if (c.attempts >= CHALLENGE_ATTEMPTS) await this.redis.del(CHALLENGE(challenge));
      else await this.saveChallenge(challenge, c);
      await this.audit.append({
        ...actor,
        action: 'auth.factor_failed',
        detail: { reason: 'bad_code', method, ...(locked ? { locked: locked.scope } : {}) },
      });
      if (locked) throw refusal('locked', locked.scope, locked.seconds);
      logins().inc({ outcome: 'failed' });
      throw new UnauthorizedException(c.attempts >= CHALLENGE_ATTEMPTS ? 'wrong code; sign in again' : 'wrong code');
    }
    await this.throttle.succeeded(gate.attempt);
    await this.redis.del(CHALLENGE(challenge));
    await this.audit.append({ ...actor, action: 'auth.factor_ok', detail: { method } });
    return { ...(await this.finish(account, client)), ...(recoveryCodesLeft !== undefined ? { recoveryCodesLeft } : {}) };
  }

  /** A passkey in place of a code: the options for the browser (the member's own credentials only). */
  async passkeyOptions(challenge: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const c = await this.challenge(challenge);
    const mine = await this.staff.passkeys(c.staffId);
    if (c.kind !== 'totp' || !mine.length) throw new UnauthorizedException('this account has no passkey');
    const options = await generateAuthenticationOptions({
      rpID: webauthnParty(this.env).rpID,
      allowCredentials: mine.map((p) => ({ id: p.id, transports: p.transports })),
      userVerification: 'preferred',
    });
    c.webauthnChallenge = options.challenge;
    await this.saveChallenge(challenge, c);
    return options;
  }

  /** The authenticator's answer: checked against the member's credential, the challenge, the origin; throttled like codes. */
  async passkey(challenge: string, response: AuthenticationResponseJSON, client: ClientInfo): Promise<LoginResult> {
    const c = await this.challenge(challenge);
    const account = await this.staff.credentials(c.username);
    if (!account || account.id !== c.staffId || !account.active || !c.webauthnChallenge) {
      throw new UnauthorizedException('sign in again');
    }
    const actor = { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id };
    const gate = await this.throttle.reserve(`factor:${account.username}`, client.address);
    if (gate.state !== 'open') throw refusal(gate.state, gate.scope, gate.retryAfterSeconds);
    const credential = (await this.staff.passkeys(account.id)).find((p) => p.id === response?.id);
    const { rpID, origins } = webauthnParty(this.env);
    let ok = false;
    let newCounter = 0;
    if (credential) {
      try {
        const v = await verifyAuthenticationResponse({
          response,
          expectedChallenge: c.webauthnChallenge,
          expectedOrigin: origins,
          expectedRPID: rpID,
          credential: {
            id: credential.id,
            publicKey: Buffer.from(credential.publicKey, 'base64url'),
            counter: credential.counter,
            transports: credential.transports,
          },
        });
        ok = v.verified;
        newCounter = v.authenticationInfo.newCounter;
      } catch {
        ok = false;
      }
    }
    // A WebAuthn challenge is signed once: a failure or a success both spend it.
    delete c.webauthnChallenge;
    if (!ok) {
      const { locked } = await this.throttle.failed(gate.attempt);
      await this.countFailure(account.id);
      await this.saveChallenge(challenge, c);
      await this.audit.append({ ...actor, action: 'auth.factor_failed', detail: { reason: 'bad_passkey', method: 'passkey' } });
      if (locked) throw refusal('locked', locked.scope, locked.seconds);
      throw new UnauthorizedException('the passkey was not accepted');
    }
    await this.staff.usedPasskey(account.id, credential!.id, newCounter);
    await this.throttle.succeeded(gate.attempt);
    await this.redis.del(CHALLENGE(challenge));
    await this.audit.append({ ...actor, action: 'auth.factor_ok', detail: { method: 'passkey' } });
    return this.finish(account, client);
  }

  /**
   * The challenge, verified: one that is absent, expired, or was not MAC'ed by records for this
   * very id (forged, altered, copied from another key) is refused alike.
   */
  private async challenge(id: string): Promise<Challenge> {
    const raw = typeof id === 'string' && id.length <= 64 ? await this.redis.get(CHALLENGE(id)) : null;
    const c = this.keys.verifyMac<Challenge>(CHALLENGE(id), raw);
    if (
      !c ||
      typeof c.staffId !== 'string' ||
      typeof c.username !== 'string' ||
      (c.kind !== 'totp' && c.kind !== 'enrol') ||
      typeof c.attempts !== 'number'
    )
      throw new UnauthorizedException('this sign-in has expired or is unknown: sign in again');
    return c;
  }

  /** The challenge written again after a change (MAC'ed), its expiry kept. */
  private async saveChallenge(id: string, c: Challenge): Promise<void> {
    await this.redis.set(CHALLENGE(id), this.keys.mac(CHALLENGE(id), c), 'KEEPTTL');
  }

  /** Password (and factor) right: the token, the session, what the account holder is told. */
  private async finish(account: StaffCredentials, client: ClientInfo): Promise<LoginResult> {
    const actor = { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id };
    const since = await this.ds.transaction(async (m) => {
      // The row lock (signedIn) orders simultaneous sign-ins of one account: each reports what came before it.
      const failedAttemptsSince = await this.staff.signedIn(account.id, m);
      const last = await this.auditTrail.lastAt({ action: 'auth.login', targetType: 'staff', targetId: account.id }, m);
      await this.audit.append({ ...actor, action: 'auth.login', detail: { username: account.username } }, m);
      return { lastSignInAt: last ? last.toISOString() : null, failedAttemptsSince };
    });
    logins().inc({ outcome: 'ok' });
    const user = { id: account.id, username: account.username, role: account.role, displayName: account.displayName };
    const accessToken = this.tokens.sign({ ...user, mustChangePassword: account.mustChangePassword });
    const principal = this.tokens.verify(accessToken)!;
    // Records' own record of the session (MySQL): listed for its member, held to the idle limit, fresh for step-up.
    await this.ledger.started(principal, client);
    // The fast copy every app checks (SessionRegistry) is re-seeded from the database at each sign-in.
    const accepted = (await this.staff.acceptedVersions(account.id)).sort(compareVersions).pop();
    if (accepted) await this.sessions.agreed(account.id, accepted);
    return {
      accessToken,
      user,
      ...since,
      mustChangePassword: account.mustChangePassword,
      idleLockSeconds: this.env.CONSOLE_IDLE_LOCK_SECONDS,
    };
  }

  /** One more refused sign-in for the account holder to be told of (`staff.failed_logins`, reset by a sign-in). */
  private async countFailure(staffId: string): Promise<void> {
    await this.staff.countFailedSignIn(staffId);
  }
}

const WHO: Record<Scope, string> = {
  pair: 'for this account from your address',
  account: 'for this account',
  address: 'from your address',
};

function refusal(state: 'throttled' | 'locked', scope: Scope, retryAfterSeconds: number): HttpException {
  logins().inc({ outcome: state });
  const seconds = Math.max(1, retryAfterSeconds);
  const who = WHO[scope];
  const body =
    state === 'locked'
      ? { error: 'Locked', message: `sign-in ${who} is locked after repeated failures; try again in ${minutes(seconds)}` }
      : { error: 'Too Many Requests', message: `too many failed sign-ins ${who}; wait ${seconds} s before trying again` };
  return new HttpException(
    { ...body, retryAfterSeconds: seconds, headers: { 'Retry-After': String(seconds) } },
    state === 'locked' ? HttpStatus.LOCKED : HttpStatus.TOO_MANY_REQUESTS,
  );
}

function principalOf(a: StaffCredentials) {
  return { id: a.id, username: a.username, role: a.role };
}

function minutes(seconds: number): string {
  return seconds >= 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
}
