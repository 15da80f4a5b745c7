import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env, masterKeys } from '@hotline/config';
import { CONTACT_KEYS_REDIS_KEY, PublishedContactKey, generateContactKey, openContactWith, privateKeyFromSeed } from './contact-seal';
import { masterKeyId, unwrapDataKey, wrapDataKey } from './envelope';

/** How many one-time contact keys are kept published, ready for the gateway. */
export const CONTACT_KEY_POOL = 20;

/**
 * One-time contact keys (see contact-seal.ts): the private halves, wrapped by the master key, in
 * the keystore's `contact_keys`, apart from the records; the public halves published in Redis for
 * the gateway. One key seals one request's number, and is destroyed once its closing SMS is sent
 * (or given up), which makes every copy of that sealed number unreadable.
 */
export class ContactKeys {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(
    private readonly keystore: DataSource,
    env: Env,
  ) {
    const { current, old } = masterKeys(env);
    this.current = { id: masterKeyId(current), key: current };
    for (const k of [current, ...old]) this.byId.set(masterKeyId(k), k);
  }

  /** Makes `n` new keys, kept in the keystore; returns their public halves to publish. */
  async create(n: number, now = new Date()): Promise<PublishedContactKey[]> {
    const made = Array.from({ length: n }, () => ({ id: randomUUID(), ...generateContactKey() }));
    if (!made.length) return [];
    await this.keystore.query(
      `INSERT INTO contact_keys (id, wrapped_key, master_key_id, created_at) VALUES ${made.map(() => '(?, ?, ?, ?)').join(', ')}`,
      made.flatMap((k) => [k.id, wrapDataKey(this.current.key, k.seed, aad(k.id)), this.current.id, now]),
    );
    return made.map((k) => ({ id: k.id, key: k.publicKeyPem }));
  }

  /** Tops the published pool up to `size` keys (best effort, for the gateway); the keys added. */
  async publish(redis: Redis, size = CONTACT_KEY_POOL): Promise<number> {
    const have = await redis.llen(CONTACT_KEYS_REDIS_KEY);
    if (have >= size) return 0;
    const keys = await this.create(size - have);
    await redis.rpush(CONTACT_KEYS_REDIS_KEY, ...keys.map((k) => JSON.stringify(k)));
    return keys.length;
  }

  /** The number sealed to key `id` for `context`; null when the key is gone (destroyed) or does not open it. */
  async open(id: string, sealed: Buffer, context: string): Promise<string | null> {
    const rows: { wrapped_key: Buffer; master_key_id: string }[] = await this.keystore.query(
      'SELECT wrapped_key, master_key_id FROM contact_keys WHERE id = ?',
      [id],
    );
    const master = rows.length ? this.byId.get(rows[0].master_key_id) : undefined;
    if (!master) return null;
    try {
      const seed = unwrapDataKey(master, Buffer.from(rows[0].wrapped_key), aad(id));
      return openContactWith(privateKeyFromSeed(seed), sealed, context);
    } catch {
      return null;
    }
  }

  /** Destroys the key (idempotent): whatever was sealed to it can no longer be opened. */
  async destroy(id: string): Promise<void> {
    await this.keystore.query('DELETE FROM contact_keys WHERE id = ?', [id]);
  }
}

function aad(id: string): string {
  return `contact-key:${id}`;
}
