import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type Redis from 'ioredis';
import { AuthStateKeys, Principal, SessionState, StaffService, stepUpRequired, steppedUp } from '@hotline/auth';
import { Clock } from '@hotline/clock';
import { ENV, Env } from '@hotline/config';
import { REDIS } from '@hotline/observability';

/** Where passkeys are used: the relying party id and the console origins (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS; default PUBLIC_URL's). */
export function webauthnParty(env: Env): { rpID: string; origins: string[] } {
  const publicUrl = new URL(env.PUBLIC_URL);
  const origins = (env.WEBAUTHN_ORIGINS ?? publicUrl.origin)
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter(Boolean);
  return { rpID: env.WEBAUTHN_RP_ID ?? publicUrl.hostname, origins };
}

/** A registration under way: the WebAuthn challenge, MAC'ed (AuthStateKeys) and bound to the member and the session that asked. */
export const REGISTRATION = (staffId: string) => `hl:{auth}:passkey-registration:${staffId}`;

/**
 * Passkeys (WebAuthn, @simplewebauthn/server) as an alternative second factor: a signed-in member
 * who proved password and factor within the last few minutes (step-up: sign-in, unlock or
 * POST /auth/step-up; not the bearer token alone) registers one from "My account" (options, then the
 * browser's answer, checked against the challenge kept 5 minutes in Redis, MAC'ed, the origin and
 * the relying party). Only the public key is kept. Signing in with one is LoginService.passkeyOptions / passkey.
 */
@Injectable()
export class Passkeys {
  constructor(
    private readonly staff: StaffService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ENV) private readonly env: Env,
    private readonly keys: AuthStateKeys,
    private readonly clock: Clock,
  ) {}

  async registrationOptions(user: Principal): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { rpID } = webauthnParty(this.env);
    const existing = await this.staff.passkeys(user.id);
    const options = await generateRegistrationOptions({
      rpName: 'Hotline',
      rpID,
      userName: user.username,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    const key = REGISTRATION(user.id);
    await this.redis.set(key, this.keys.mac(key, { staffId: user.id, sid: user.sid, challenge: options.challenge }), 'EX', 300);
    return options;
  }

  /** The browser's answer to the options this session asked for (step-up still fresh). */
  async register(user: Principal, session: SessionState, response: RegistrationResponseJSON): Promise<{ id: string }> {
    const key = REGISTRATION(user.id);
    const pending = this.keys.verifyMac<{ staffId?: string; sid?: string; challenge?: string }>(key, await this.redis.get(key));
    const expectedChallenge = pending?.staffId === user.id && pending.sid === user.sid ? pending.challenge : undefined;
    if (typeof expectedChallenge !== 'string')
      throw new BadRequestException({ message: 'ask for registration options first (they last 5 minutes)', fields: ['response'] });
    if (!steppedUp(session, this.clock.nowMs())) throw stepUpRequired();
    await this.redis.del(key);
    const { rpID, origins } = webauthnParty(this.env);
    let verified;
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge, expectedOrigin: origins, expectedRPID: rpID });
    } catch {
      throw new BadRequestException({ message: 'the passkey could not be verified', fields: ['response'] });
    }
    if (!verified.verified) throw new BadRequestException({ message: 'the passkey could not be verified', fields: ['response'] });
    const { credential } = verified.registrationInfo;
    await this.staff.addPasskey(user, {
      id: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: credential.transports ?? [],
    });
    return { id: credential.id };
  }
}
