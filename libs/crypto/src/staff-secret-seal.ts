import { Inject, Injectable } from '@nestjs/common';
import { hkdfSync } from 'crypto';
import { ENV, Env, masterKeys } from '@hotline/config';
import { associatedData, masterKeyId, open, seal } from './envelope';

const PREFIX = 'sealed:v1:';

/**
 * Staff second-factor secrets (TOTP) at rest: AES-256-GCM under a key derived from MASTER_KEY
 * (HKDF-SHA256, its own label), bound to the member's id, so that a copy of the staff table (a
 * backup, a dump) holds no usable secret. Stored as `sealed:v1:<master key id>:<base64url>`. A secret
 * sealed under a key now in MASTER_KEY_OLD still opens and is reported `stale`, for the caller to seal
 * it again under the current key (records does at the next sign-in).
 */
@Injectable()
export class StaffSecretSeal {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(@Inject(ENV) env: Env) {
    const { current, old } = masterKeys(env);
    this.current = { id: masterKeyId(current), key: derive(current) };
    for (const k of [current, ...old]) this.byId.set(masterKeyId(k), derive(k));
  }

  seal(staffId: string, secret: string): string {
    const sealed = seal(this.current.key, Buffer.from(secret, 'utf8'), associatedData(staffId, 'totp-secret'));
    return `${PREFIX}${this.current.id}:${sealed.toString('base64url')}`;
  }

  /** The secret, and whether it was sealed under an older master key; throws DecryptionError when it cannot be opened. */
  open(staffId: string, stored: string): { secret: string; stale: boolean } {
    if (!stored.startsWith(PREFIX)) throw new Error('this second-factor secret is not sealed');
    const [keyId, body] = stored.slice(PREFIX.length).split(':');
    const key = this.byId.get(keyId);
    if (!key)
      throw new Error(`this second-factor secret is sealed by master key ${keyId}, which is not configured (MASTER_KEY / MASTER_KEY_OLD)`);
    const secret = open(key, Buffer.from(body, 'base64url'), associatedData(staffId, 'totp-secret')).toString('utf8');
    return { secret, stale: keyId !== this.current.id };
  }
}

function derive(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'hotline staff second-factor secrets v1', 32));
}
