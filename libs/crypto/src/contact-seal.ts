import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  KeyObject,
  randomBytes,
} from 'crypto';

/**
 * Sealing a caller's number for the one message we owe them later (the closing SMS of a deletion
 * request). The gateway holds no key that decrypts anything, so it seals to a public key: X25519
 * (ephemeral-static) + HKDF + AES-256-GCM.
 *
 * The public key is a one-time contact key of the request's own: the worker keeps a small pool of
 * them published in Redis (CONTACT_KEYS_REDIS_KEY, a list of `{"id","key"}`), each private half
 * wrapped by the master key in the keystore (`ContactKeys`, `contact_keys`). The gateway takes one
 * key per request (LPOP: never two requests on one key) and stores its id with the sealed number.
 * The worker destroys that key once the closing SMS is sent (or given up): from then on every copy
 * of the sealed number, in binlogs and backups included, is unreadable, as a call's content is
 * once its data key is gone.
 *
 * `contactPrivateKey`/`openContact` (a key derived from MASTER_KEY) open numbers sealed before the
 * one-time keys; nothing seals to that key any more.
 */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The Redis list of published one-time contact keys (JSON `{ "id": uuid, "key": spki PEM }`, one per entry). */
export const CONTACT_KEYS_REDIS_KEY = 'hl:contact-keys';
/** The name this key had when it held one public key; the list of one-time keys now. */
export const CONTACT_PUBLIC_KEY_REDIS_KEY = CONTACT_KEYS_REDIS_KEY;

/** A published one-time contact key: the id its private half is kept under, and the public key. */
export interface PublishedContactKey {
  id: string;
  key: string;
}

/** A fresh X25519 key pair for a one-time contact key: the private seed (32 bytes) and the public key (PEM). */
export function generateContactKey(): { seed: Buffer; publicKeyPem: string } {
  const seed = randomBytes(32);
  const publicKeyPem = createPublicKey(privateKeyFromSeed(seed)).export({ type: 'spki', format: 'pem' }).toString();
  return { seed, publicKeyPem };
}

export function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Parses one entry of the published list; null when it is not one. */
export function parsePublishedContactKey(entry: string | null): PublishedContactKey | null {
  if (!entry) return null;
  try {
    const k = JSON.parse(entry) as PublishedContactKey;
    return typeof k?.id === 'string' && typeof k?.key === 'string' ? k : null;
  } catch {
    return null;
  }
}

/** The contact key derived from MASTER_KEY, for numbers sealed before the one-time keys. */
export function contactPrivateKey(masterKey: Buffer): KeyObject {
  return privateKeyFromSeed(Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'hotline:contact-key:v1', 32)));
}

export function contactPublicKeyPem(masterKey: Buffer): string {
  return createPublicKey(contactPrivateKey(masterKey)).export({ type: 'spki', format: 'pem' }).toString();
}

function aeadKey(shared: Buffer, ephemeralPub: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeralPub, 'hotline:contact-seal:v1', 32));
}

/** Layout: ephemeral public key (spki DER, 44 bytes) | iv (12) | tag (16) | ciphertext. */
export function sealContact(publicKeyPem: string, plaintext: string, context: string): Buffer {
  const recipient = createPublicKey(publicKeyPem);
  const eph = generateKeyPairSync('x25519');
  const ephDer = eph.publicKey.export({ type: 'spki', format: 'der' });
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', aeadKey(shared, ephDer), iv);
  c.setAAD(Buffer.from(`hotline:contact:${context}`));
  const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
  return Buffer.concat([ephDer, iv, c.getAuthTag(), body]);
}

export function openContact(masterKey: Buffer, sealed: Buffer, context: string): string {
  return openContactWith(contactPrivateKey(masterKey), sealed, context);
}

/** Opens a number sealed to this private key, in its context (the request id); throws when either is wrong. */
export function openContactWith(privateKey: KeyObject, sealed: Buffer, context: string): string {
  const ephDer = sealed.subarray(0, 44);
  const iv = sealed.subarray(44, 56);
  const tag = sealed.subarray(56, 72);
  const body = sealed.subarray(72);
  const shared = diffieHellman({
    privateKey,
    publicKey: createPublicKey({ key: ephDer, format: 'der', type: 'spki' }),
  });
  const d = createDecipheriv('aes-256-gcm', aeadKey(shared, ephDer), iv);
  d.setAAD(Buffer.from(`hotline:contact:${context}`));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]).toString('utf8');
}
