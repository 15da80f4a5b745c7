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
 * (ephemeral-static) + HKDF + AES-256-GCM. The private key is derived from MASTER_KEY, so only
 * the worker and records can open it; the sealed number is erased as soon as the SMS is sent.
 */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

export const CONTACT_PUBLIC_KEY_REDIS_KEY = 'hl:contact-public-key';

export function contactPrivateKey(masterKey: Buffer): KeyObject {
  const seed = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'hotline:contact-key:v1', 32));
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
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
  const ephDer = sealed.subarray(0, 44);
  const iv = sealed.subarray(44, 56);
  const tag = sealed.subarray(56, 72);
  const body = sealed.subarray(72);
  const shared = diffieHellman({
    privateKey: contactPrivateKey(masterKey),
    publicKey: createPublicKey({ key: ephDer, format: 'der', type: 'spki' }),
  });
  const d = createDecipheriv('aes-256-gcm', aeadKey(shared, ephDer), iv);
  d.setAAD(Buffer.from(`hotline:contact:${context}`));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]).toString('utf8');
}
