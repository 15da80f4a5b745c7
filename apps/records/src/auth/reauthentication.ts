import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { generateAuthenticationOptions, verifyAuthenticationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type Redis from 'ioredis';
import { AuditService } from '@hotline/audit';
import { AuthStateKeys, Principal, StaffService, looksLikeRecoveryCode, recoveryCodeHash, totpStep, verifyPassword } from '@hotline/auth';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { StaffSecretSeal } from '@hotline/crypto';
import { REDIS } from '@hotline/observability';
import { LoginThrottle } from './login-throttle';
import type { ClientInfo } from './login.service';
import { webauthnParty } from './passkeys';

/** A passkey re-authentication under way: the WebAuthn challenge, MAC'ed and bound to the session. */
const REAUTH_PASSKEY = (sid: string) => `hl:{auth}:reauth-passkey:${sid}`;

export interface ReauthInput {
  password: string;
  /** A TOTP code or a recovery code, for a member with a TOTP factor. */
  code?: string;
  /** A passkey's signed answer (to POST /auth/reauth/passkey-options), for a member with a passkey. */
  passkey?: AuthenticationResponseJSON;
}

export type ReauthPurpose = 'unlock' | 'step_up';

/**
 * A signed-in member proves it is still them: their password, and their second factor when they
 * have one (a TOTP or recovery code, or a passkey), as at sign-in. Used to unlock a locked console
 * (POST /auth/unlock) and to step up before adding a passkey or changing a password
 * (POST /auth/step-up). Throttled like sign-ins under its own key (429/423, the session kept);
 * wrong answers are 400 naming the field (never 401: the session itself is fine) and audited.
 */
@Injectable()
export class Reauthentication {
  constructor(
    private readonly staff: StaffService,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
    private readonly secrets: StaffSecretSeal,
    private readonly keys: AuthStateKeys,
    private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ENV) private readonly env: Env,
  ) {}

  /** Options for navigator.credentials.get, naming the member's own passkeys (5 minutes). */
  async passkeyOptions(user: Principal): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const mine = await this.staff.passkeys(user.id);
    if (!mine.length) throw new BadRequestException({ message: 'you have no passkey', fields: ['passkey'] });
    const options = await generateAuthenticationOptions({
      rpID: webauthnParty(this.env).rpID,
      allowCredentials: mine.map((p) => ({ id: p.id, transports: p.transports })),
      userVerification: 'preferred',
    });
    const key = REAUTH_PASSKEY(user.sid!);
    await this.redis.set(key, this.keys.mac(key, { staffId: user.id, sid: user.sid, challenge: options.challenge }), 'EX', 300);
    return options;
  }

  /** Checks password and factor; throws (400, 429, 423) unless both are right. */
  async verify(user: Principal, input: ReauthInput, client: ClientInfo, purpose: ReauthPurpose): Promise<{ method: string }> {
    const account = await this.staff.credentials(user.username);
    if (!account || account.id !== user.id || !account.active)
      throw new UnauthorizedException('this account no longer exists or is inactive');
    const factors = await this.staff.factorsOf(account.id);
    const hasFactor = factors.totp || factors.passkey;
    // Said before anything is checked, so that it tells nothing about the password.
    if (hasFactor && !input.code && !input.passkey)
      throw new BadRequestException({
        error: 'factor_required',
        message: factors.totp ? 'enter the code from your authenticator app too' : 'confirm with your passkey too',
        fields: [factors.totp ? 'code' : 'passkey'],
        factors,
      });
    const actor = { actorId: account.id, actorRole: account.role, targetType: 'staff', targetId: account.id };
    const gate = await this.throttle.reserve(`reauth:${account.username}`, client.address);
    if (gate.state !== 'open') {
      const seconds = Math.max(1, gate.retryAfterSeconds);
      await this.audit.append({ ...actor, action: 'auth.reauth_failed', detail: { purpose, reason: gate.state } });
      throw new HttpException(
        {
          error: gate.state === 'locked' ? 'Locked' : 'Too Many Requests',
          message: `too many wrong answers; wait ${seconds} s before trying again`,
          retryAfterSeconds: seconds,
          headers: { 'Retry-After': String(seconds) },
        },
        gate.state === 'locked' ? HttpStatus.LOCKED : HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const refuse = async (reason: string, field: string, message: string): Promise<never> => {
      await this.throttle.failed(gate.attempt);
      await this.audit.append({ ...actor, action: 'auth.reauth_failed', detail: { purpose, reason } });
      throw new BadRequestException({ error: 'reauth_failed', message, fields: [field] });
    };
    if (!(await verifyPassword(account.passwordHash, input.password)))
      return refuse('bad_password', 'password', 'the password is not right');
    let method = 'password';
    if (hasFactor) {
      if (input.passkey) {
        method = 'passkey';
        if (!(await this.passkeyOk(user, input.passkey))) return refuse('bad_passkey', 'passkey', 'the passkey was not accepted');
      } else if (factors.totp && account.totpSecret) {
        const code = String(input.code ?? '');
        let ok: boolean;
        if (looksLikeRecoveryCode(code)) {
          method = 'recovery';
          ok = (await this.staff.useRecoveryCode(account.id, recoveryCodeHash(code))).used;
        } else {
          method = 'totp';
          const { secret } = this.secrets.open(account.id, account.totpSecret);
          const step = totpStep(secret, code.trim(), this.clock.nowMs());
          ok = step !== null && (await this.staff.takeTotpStep(account.id, step));
        }
        if (!ok) return refuse('bad_code', 'code', 'the code is not right');
      } else {
        return refuse('bad_code', 'passkey', 'confirm with your passkey');
      }
    }
    await this.throttle.succeeded(gate.attempt);
    return { method };
  }

  private async passkeyOk(user: Principal, response: AuthenticationResponseJSON): Promise<boolean> {
    const key = REAUTH_PASSKEY(user.sid!);
    const pending = this.keys.verifyMac<{ staffId?: string; sid?: string; challenge?: string }>(key, await this.redis.get(key));
    // A WebAuthn challenge is signed once: a failure or a success both spend it.
    await this.redis.del(key);
    if (!pending || pending.staffId !== user.id || pending.sid !== user.sid || typeof pending.challenge !== 'string') return false;
    const credential = (await this.staff.passkeys(user.id)).find((p) => p.id === response?.id);
    if (!credential) return false;
    const { rpID, origins } = webauthnParty(this.env);
    try {
      const v = await verifyAuthenticationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: origins,
        expectedRPID: rpID,
        credential: {
          id: credential.id,
          publicKey: Buffer.from(credential.publicKey, 'base64url'),
          counter: credential.counter,
          transports: credential.transports as never,
        },
      });
      if (!v.verified) return false;
      await this.staff.usedPasskey(user.id, credential.id, v.authenticationInfo.newCounter);
      return true;
    } catch {
      return false;
    }
  }
}
