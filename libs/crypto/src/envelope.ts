import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'crypto';

/**
 * AES-256-GCM with associated data. Layout: version(1) | iv(12) | tag(16) | ciphertext.
 * The associated data names the call and the field, so a ciphertext copied to another
 * call or another column fails authentication instead of decrypting.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class DecryptionError extends Error {
  constructor(message = 'ciphertext cannot be decrypted (wrong key, wrong call or field, or tampered)') {
    super(message);
    this.name = 'DecryptionError';
  }
}

export function associatedData(callId: string, field: string): Buffer {
  return Buffer.from(`hotline:v1:${callId}:${field}`, 'utf8');
}

export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function open(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (!sealed || sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new DecryptionError('ciphertext is malformed');
  const iv = sealed.subarray(1, 1 + IV_BYTES);
  const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const body = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptionError();
  }
}

/** Short public fingerprint of a master key: recorded beside each wrapped data key. */
export function masterKeyId(masterKey: Buffer): string {
  return createHash('sha256').update('hotline-master-key-id').update(masterKey).digest('hex').slice(0, 16);
}

export function wrapDataKey(masterKey: Buffer, dataKey: Buffer, callId: string): Buffer {
  return seal(masterKey, dataKey, associatedData(callId, 'data-key'));
}

export function unwrapDataKey(masterKey: Buffer, wrapped: Buffer, callId: string): Buffer {
  return open(masterKey, wrapped, associatedData(callId, 'data-key'));
}
