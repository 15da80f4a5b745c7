import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'crypto';
import { DataSource } from 'typeorm';
import { ENV, Env, masterKeys } from '@hotline/config';
import { KEYSTORE, keystorePairedWith, pairKeystore } from '@hotline/persistence';
import { DataKeyEntry, DataKeyStore } from './data-key-store';
import { masterKeyId, unwrapDataKey, wrapDataKey } from './envelope';

export class DataKeyDestroyedError extends Error {
  constructor(readonly callId: string) {
    super(`data key of call ${callId} does not exist (destroyed or never created)`);
    this.name = 'DataKeyDestroyedError';
  }
}

/**
 * Call ids are UUIDs, compared case-insensitively by MySQL's collation but bound case-sensitively
 * into each ciphertext's associated data: one canonical (lower-case) form everywhere.
 */
export function canonicalId(id: string): string {
  return id.toLowerCase();
}

interface MasterKey {
  id: string;
  key: Buffer;
}

/**
 * The keystore (DataKeyStore): per-call data keys, wrapped by the master key, in their own
 * database. Unwrapped keys are cached briefly in memory (CACHE_MS) to keep reads fast; destroying
 * a key here also evicts it, and other processes' caches expire within CACHE_MS.
 */
@Injectable()
export class KeystoreService extends DataKeyStore {
  static CACHE_MS = 5_000;
  private readonly current: MasterKey;
  private readonly byId = new Map<string, MasterKey>();
  private readonly cache = new Map<string, { key: Buffer; until: number }>();

  constructor(
    @InjectDataSource(KEYSTORE) private readonly ds: DataSource,
    @Inject(ENV) env: Env,
  ) {
    super();
    const { current, old } = masterKeys(env);
    [current, ...old].forEach((key, i) => {
      const mk = { id: masterKeyId(key), key };
      if (i === 0) (this as any).current = mk;
      this.byId.set(mk.id, mk);
    });
  }

  get currentMasterKeyId(): string {
    return this.current.id;
  }

  /** The call's data key, created on first use. Safe under concurrency (INSERT IGNORE, then read). */
  async getOrCreate(callId: string): Promise<Buffer> {
    callId = canonicalId(callId);
    const cached = this.fromCache(callId);
    if (cached) return cached;
    const existing = await this.load(callId);
    if (existing) return existing;
    const dataKey = randomBytes(32);
    await this.ds.query('INSERT IGNORE INTO data_keys (call_id, wrapped_key, master_key_id, created_at) VALUES (?, ?, ?, ?)', [
      callId,
      wrapDataKey(this.current.key, dataKey, callId),
      this.current.id,
      new Date(),
    ]);
    const stored = await this.load(callId);
    if (!stored) throw new DataKeyDestroyedError(callId);
    return stored;
  }

  /** The call's data key; throws DataKeyDestroyedError when it is gone. */
  async unwrap(callId: string): Promise<Buffer> {
    callId = canonicalId(callId);
    const key = this.fromCache(callId) ?? (await this.load(callId));
    if (!key) throw new DataKeyDestroyedError(callId);
    return key;
  }

  async exists(callId: string): Promise<boolean> {
    callId = canonicalId(callId);
    const rows = await this.ds.query('SELECT 1 FROM data_keys WHERE call_id = ?', [callId]);
    return rows.length > 0;
  }

  /** Crypto-shredding: after this, every copy of the call's content is unreadable. Idempotent. */
  async destroy(callId: string): Promise<'destroyed' | 'already_gone'> {
    callId = canonicalId(callId);
    this.cache.delete(callId);
    const res = await this.ds.query('DELETE FROM data_keys WHERE call_id = ?', [callId]);
    return res.affectedRows > 0 ? 'destroyed' : 'already_gone';
  }

  async destroyMany(callIds: string[]): Promise<number> {
    if (!callIds.length) return 0;
    const ids = callIds.map(canonicalId);
    for (const id of ids) this.cache.delete(id);
    const res = await this.ds.query('DELETE FROM data_keys WHERE call_id IN (?)', [ids]);
    return Number(res.affectedRows ?? 0);
  }

  async existing(callIds: string[]): Promise<Set<string>> {
    if (!callIds.length) return new Set();
    const rows: { call_id: string }[] = await this.ds.query('SELECT call_id FROM data_keys WHERE call_id IN (?)', [
      callIds.map(canonicalId),
    ]);
    return new Set(rows.map((r) => r.call_id));
  }

  async list(afterCallId: string, limit: number): Promise<DataKeyEntry[]> {
    const rows: { call_id: string; created_at: Date; quarantined_at: Date | null }[] = await this.ds.query(
      'SELECT call_id, created_at, quarantined_at FROM data_keys WHERE call_id > ? ORDER BY call_id LIMIT ?',
      [afterCallId, limit],
    );
    return rows.map((r) => ({
      callId: r.call_id,
      createdAt: new Date(r.created_at),
      quarantinedAt: r.quarantined_at ? new Date(r.quarantined_at) : null,
    }));
  }

  async count(): Promise<number> {
    const [{ n }] = await this.ds.query('SELECT COUNT(*) AS n FROM data_keys');
    return Number(n);
  }

  async pairedWith(): Promise<string | null> {
    return keystorePairedWith(this.ds);
  }

  async pair(recordsDatabaseId: string): Promise<string> {
    return (await pairKeystore(this.ds, recordsDatabaseId))!;
  }

  async quarantine(callIds: string[], at: Date): Promise<void> {
    if (callIds.length)
      await this.ds.query('UPDATE data_keys SET quarantined_at = ? WHERE call_id IN (?) AND quarantined_at IS NULL', [
        at,
        callIds.map(canonicalId),
      ]);
  }

  async release(callIds: string[]): Promise<void> {
    if (callIds.length) await this.ds.query('UPDATE data_keys SET quarantined_at = NULL WHERE call_id IN (?)', [callIds.map(canonicalId)]);
  }

  /** Re-wraps every data key not under the current master key. Content is not touched. */
  async rotate(batchSize = 500): Promise<{ rewrapped: number; remaining: number }> {
    let rewrapped = 0;
    for (;;) {
      const rows: { call_id: string; wrapped_key: Buffer; master_key_id: string }[] = await this.ds.query(
        'SELECT call_id, wrapped_key, master_key_id FROM data_keys WHERE master_key_id <> ? LIMIT ?',
        [this.current.id, batchSize],
      );
      const usable = rows.filter((r) => this.byId.has(r.master_key_id));
      for (const r of usable) {
        const plain = unwrapDataKey(this.byId.get(r.master_key_id)!.key, r.wrapped_key, r.call_id);
        await this.ds.query('UPDATE data_keys SET wrapped_key = ?, master_key_id = ? WHERE call_id = ? AND master_key_id = ?', [
          wrapDataKey(this.current.key, plain, r.call_id),
          this.current.id,
          r.call_id,
          r.master_key_id,
        ]);
        rewrapped++;
      }
      if (usable.length === 0 || rows.length < batchSize) break;
    }
    const [{ n }] = await this.ds.query('SELECT COUNT(*) AS n FROM data_keys WHERE master_key_id <> ?', [this.current.id]);
    return { rewrapped, remaining: Number(n) };
  }

  private fromCache(callId: string): Buffer | undefined {
    const hit = this.cache.get(callId);
    if (!hit) return undefined;
    if (hit.until < Date.now()) {
      this.cache.delete(callId);
      return undefined;
    }
    return hit.key;
  }

  private async load(callId: string): Promise<Buffer | undefined> {
    const rows: { wrapped_key: Buffer; master_key_id: string }[] = await this.ds.query(
      'SELECT wrapped_key, master_key_id FROM data_keys WHERE call_id = ?',
      [callId],
    );
    if (!rows.length) return undefined;
    const mk = this.byId.get(rows[0].master_key_id);
    if (!mk)
      throw new Error(
        `data key of call ${callId} is wrapped by master key ${rows[0].master_key_id}, which is not configured (MASTER_KEY / MASTER_KEY_OLD)`,
      );
    const key = unwrapDataKey(mk.key, Buffer.from(rows[0].wrapped_key), callId);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(callId, { key, until: Date.now() + KeystoreService.CACHE_MS });
    return key;
  }
}
