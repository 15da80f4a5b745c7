import { Inject, Injectable } from '@nestjs/common';
import { KeyObject, createHash, createPrivateKey, createPublicKey, randomBytes } from 'crypto';
import { decode, sign, verify } from 'jsonwebtoken';
import { ENV, Env } from '@hotline/config';
import { ROLES } from '@hotline/contract';
import { AccessTokenClaims, Principal } from './principal';

/** A new session id (the `sid` a token carries): 144 random bits, base64url. */
export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

/** The one algorithm tokens are signed and accepted with (P-256 ECDSA); `none`, HS* and the rest are refused. */
export const TOKEN_ALGORITHM = 'ES256';

/** A key's id: the first 16 hex digits of the SHA-256 of its public key (SPKI DER). */
export function tokenKeyId(key: KeyObject): string {
  const spki = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex').slice(0, 16);
}

/** PEM blocks from one variable (newlines may be written as `\n`); several public keys may be concatenated. */
export function pemBlocks(value: string | undefined, kind: 'PUBLIC' | 'PRIVATE'): string[] {
  const text = (value ?? '').replace(/\\n/g, '\n');
  return text.match(new RegExp(`-----BEGIN ${kind} KEY-----[\\s\\S]+?-----END ${kind} KEY-----`, 'g')) ?? [];
}

/**
 * Signs and verifies staff access tokens. Only records holds the private key (TOKEN_PRIVATE_KEY)
 * and signs; every app verifies with the public key(s) (TOKEN_PUBLIC_KEY), chosen by the token's
 * `kid`, so a key can be rotated: publish the new public key beside the old, switch records to the
 * new private key, drop the old public key after one SESSION_TTL_SECONDS.
 */
@Injectable()
export class TokenService {
  private readonly signingKey?: { key: KeyObject; kid: string };
  private readonly verifyingKeys = new Map<string, KeyObject>();

  constructor(@Inject(ENV) private readonly env: Env) {
    const [privatePem] = pemBlocks(env.TOKEN_PRIVATE_KEY, 'PRIVATE');
    if (privatePem) {
      const key = createPrivateKey(privatePem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
        throw new Error('TOKEN_PRIVATE_KEY must be a P-256 (ES256) private key');
      this.signingKey = { key, kid: tokenKeyId(key) };
    }
    for (const pem of pemBlocks(env.TOKEN_PUBLIC_KEY, 'PUBLIC')) {
      const key = createPublicKey(pem);
      this.verifyingKeys.set(tokenKeyId(key), key);
    }
    if (this.signingKey && !this.verifyingKeys.size) this.verifyingKeys.set(this.signingKey.kid, createPublicKey(this.signingKey.key));
    if (!this.verifyingKeys.size) throw new Error('TOKEN_PUBLIC_KEY is required');
  }

  /** Only where TOKEN_PRIVATE_KEY is set (records). */
  sign(p: Principal, sid = newSessionId()): string {
    if (!this.signingKey) throw new Error('this app holds no TOKEN_PRIVATE_KEY: only records signs staff tokens');
    const claims: AccessTokenClaims = {
      sub: p.id,
      username: p.username,
      role: p.role,
      sid,
      iatMs: Date.now(),
      ...(p.mustChangePassword ? { pwc: true } : {}),
    };
    return sign(claims, this.signingKey.key, {
      algorithm: TOKEN_ALGORITHM,
      keyid: this.signingKey.kid,
      expiresIn: this.env.SESSION_TTL_SECONDS,
      issuer: 'hotline',
    });
  }

  /** The principal, or null for a missing, forged, expired or malformed token, or one signed by a key not published. */
  verify(token: unknown): Principal | null {
    const claims = this.claims(token);
    return claims
      ? {
          id: claims.sub,
          username: claims.username,
          role: claims.role,
          sid: claims.sid,
          iatMs: typeof claims.iatMs === 'number' ? claims.iatMs : (claims.iat ?? 0) * 1000,
          exp: claims.exp,
          ...(claims.pwc === true ? { mustChangePassword: true } : {}),
        }
      : null;
  }

  /** The verified claims (with `exp`), or null. */
  claims(token: unknown): (AccessTokenClaims & { exp: number }) | null {
    if (typeof token !== 'string' || token.length > 4096) return null;
    try {
      const header = decode(token, { complete: true })?.header;
      const key = header?.alg === TOKEN_ALGORITHM && typeof header.kid === 'string' ? this.verifyingKeys.get(header.kid) : undefined;
      if (!key) return null;
      const c = verify(token, key, { algorithms: [TOKEN_ALGORITHM], issuer: 'hotline' }) as AccessTokenClaims & { exp: number };
      if (
        typeof c.sub !== 'string' ||
        typeof c.exp !== 'number' ||
        typeof c.sid !== 'string' ||
        !(ROLES as readonly string[]).includes(c.role)
      )
        return null;
      return c;
    } catch {
      return null;
    }
  }
}
