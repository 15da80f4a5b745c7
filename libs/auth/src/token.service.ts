import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ENV, Env } from '@hotline/config';
import { ROLES } from '@hotline/contract';
import { AccessTokenClaims, Principal } from './principal';

/** Signs and verifies staff access tokens (HS256 only: `alg: none` and others are refused). */
@Injectable()
export class TokenService {
  private readonly jwt: JwtService;
  constructor(@Inject(ENV) private readonly env: Env) {
    if (!env.JWT_SECRET) throw new Error('JWT_SECRET is required');
    this.jwt = new JwtService({
      secret: env.JWT_SECRET,
      signOptions: { algorithm: 'HS256', expiresIn: env.SESSION_TTL_SECONDS, issuer: 'hotline' },
      verifyOptions: { algorithms: ['HS256'], issuer: 'hotline' },
    });
  }

  sign(p: Principal): string {
    const claims: AccessTokenClaims = { sub: p.id, username: p.username, role: p.role };
    return this.jwt.sign(claims);
  }

  /** The principal, or null for a missing, forged, expired or malformed token. */
  verify(token: unknown): Principal | null {
    if (typeof token !== 'string' || token.length > 4096) return null;
    try {
      const c = this.jwt.verify<AccessTokenClaims>(token);
      if (typeof c.sub !== 'string' || !(ROLES as readonly string[]).includes(c.role)) return null;
      return { id: c.sub, username: c.username, role: c.role };
    } catch {
      return null;
    }
  }
}
