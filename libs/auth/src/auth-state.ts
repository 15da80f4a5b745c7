import { Inject, Injectable } from '@nestjs/common';
import { KeyObject, createHmac, createPrivateKey, createPublicKey, hkdfSync, sign, timingSafeEqual, verify } from 'crypto';
import { ENV, Env } from '@hotline/config';
import { pemBlocks, tokenKeyId } from './token.service';

const SIGNED = 'v1';
const MACED = 'm1';
const CONTEXT = 'hotline auth state v1';

/**
 * What records keeps in Redis about sign-in and sessions, authenticated, so that whoever can write
 * to Redis (the gateway's host before each app had its own Redis user, or anyone who reaches Redis)
 * cannot make records or the gateway believe something records never wrote:
 *
 * - **signed** (`v1.<kid>.<payload>.<signature>`): ES256 over the Redis key and the payload with
 *   TOKEN_PRIVATE_KEY, which only records holds; every app verifies with TOKEN_PUBLIC_KEY, as it
 *   verifies tokens. For what the gateway reads too: the agreement a member accepted, the time
 *   before which a member's sessions ended, the sessions channel's messages.
 * - **MAC'ed** (`m1.<payload>.<HMAC-SHA256>`): under a key derived from TOKEN_PRIVATE_KEY
 *   (HKDF-SHA256, its own label), over the Redis key and the payload: for what records alone reads
 *   (sign-in challenges, WebAuthn challenges). Nobody else can forge it, alter it or move it to
 *   another key. Nothing secret is kept in them: the TOTP secret offered at enrolment is derived
 *   from the same key and the challenge (`derive`), never stored in Redis.
 *
 * A value that does not verify is treated as absent (or, where absence would grant something, as
 * the refusal it might hide: see SessionRegistry). Neither defeats deleting a value or putting back
 * an old one: what must survive that (ended and locked sessions, step-up) is kept in records'
 * MySQL database, and Redis holds only the gateway's fast copy (docs/records.md, "Tokens and sessions").
 */
@Injectable()
export class AuthStateKeys {
  private readonly signing?: { key: KeyObject; kid: string; macKey: Buffer };
  private readonly verifying = new Map<string, KeyObject>();

  constructor(@Inject(ENV) env: Env) {
    const [privatePem] = pemBlocks(env.TOKEN_PRIVATE_KEY, 'PRIVATE');
    if (privatePem) {
      const key = createPrivateKey(privatePem);
      const der = key.export({ type: 'pkcs8', format: 'der' });
      const macKey = Buffer.from(hkdfSync('sha256', der, Buffer.alloc(0), 'hotline auth state mac v1', 32));
      this.signing = { key, kid: tokenKeyId(key), macKey };
    }
    for (const pem of pemBlocks(env.TOKEN_PUBLIC_KEY, 'PUBLIC')) {
      const key = createPublicKey(pem);
      this.verifying.set(tokenKeyId(key), key);
    }
    if (this.signing && !this.verifying.has(this.signing.kid)) this.verifying.set(this.signing.kid, createPublicKey(this.signing.key));
  }

  /** Whether this app can sign and MAC (records only). */
  get canSign(): boolean {
    return !!this.signing;
  }

  /** `payload` signed for the Redis key (or channel) `name`. */
  sign(name: string, payload: object): string {
    const s = this.required();
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const sig = sign('sha256', signedText(name, body), { key: s.key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    return `${SIGNED}.${s.kid}.${body}.${sig}`;
  }

  /** The payload signed for `name`, or null when absent, malformed, signed for another name or by a key not published. */
  verify<T extends object>(name: string, value: string | null | undefined): T | null {
    if (typeof value !== 'string' || value.length > 4096) return null;
    const [v, kid, body, sig, extra] = value.split('.');
    if (v !== SIGNED || extra !== undefined || !kid || !body || !sig) return null;
    const key = this.verifying.get(kid);
    if (!key) return null;
    try {
      const ok = verify('sha256', signedText(name, body), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
      if (!ok) return null;
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as T) : null;
    } catch {
      return null;
    }
  }

  /** `payload` authenticated for the Redis key `name` (records only). */
  mac(name: string, payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${MACED}.${body}.${this.tag(name, body).toString('base64url')}`;
  }

  /** The payload MAC'ed for `name`, or null when absent, forged, altered or made for another key. */
  verifyMac<T extends object>(name: string, value: string | null | undefined): T | null {
    if (!this.signing || typeof value !== 'string' || value.length > 16_384) return null;
    const [v, body, tag, extra] = value.split('.');
    if (v !== MACED || extra !== undefined || !body || !tag) return null;
    const given = Buffer.from(tag, 'base64url');
    const expected = this.tag(name, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      return payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as T) : null;
    } catch {
      return null;
    }
  }

  /** `bytes` bytes only records can compute, for `purpose` and `parts` (e.g. the TOTP secret offered with a challenge). */
  derive(purpose: string, parts: string[], bytes = 20): Buffer {
    const h = createHmac('sha256', this.required().macKey).update(`${CONTEXT}\nderive\n${purpose}`);
    for (const p of parts) h.update(`\n${p}`);
    return h.digest().subarray(0, bytes);
  }

  private tag(name: string, body: string): Buffer {
    return createHmac('sha256', this.required().macKey).update(`${CONTEXT}\nmac\n${name}\n${body}`).digest();
  }

  private required(): { key: KeyObject; kid: string; macKey: Buffer } {
    if (!this.signing) throw new Error('this app holds no TOKEN_PRIVATE_KEY: only records writes sign-in and session state');
    return this.signing;
  }
}

function signedText(name: string, body: string): Buffer {
  return Buffer.from(`${CONTEXT}\n${name}\n${body}`);
}
