/**
 * Fixtures of the keystore's tables for the tests and the benchmarks (`@hotline/crypto/fixtures`):
 * data keys written and deleted in bulk. Production code never imports this file; only libs/crypto
 * names its tables in SQL (scripts/table-owners.js).
 */

/** A DataSource, an EntityManager or a QueryRunner of the keystore. */
export interface KeystoreQueries {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/** Data keys already wrapped (envelope's wrapDataKey) under the master key `masterKeyId`: one multi-row INSERT. */
export async function insertDataKeys(
  keystore: KeystoreQueries,
  keys: { callId: string; wrappedKey: Buffer; masterKeyId: string; createdAt: Date }[],
): Promise<void> {
  if (!keys.length) return;
  await keystore.query(
    `INSERT INTO data_keys (call_id, wrapped_key, master_key_id, created_at) VALUES ${keys.map(() => '(?, ?, ?, ?)').join(', ')}`,
    keys.flatMap((k) => [k.callId, k.wrappedKey, k.masterKeyId, k.createdAt]),
  );
}

/** The data keys of these calls deleted plainly (no quarantine, no audit): the benchmark's floor. */
export async function deleteDataKeysPlainly(keystore: KeystoreQueries, callIds: string[]): Promise<void> {
  if (callIds.length) await keystore.query('DELETE FROM data_keys WHERE call_id IN (?)', [callIds]);
}

/** How many data keys there are (of `callIds` when given). */
export async function countDataKeys(keystore: KeystoreQueries, callIds?: string[]): Promise<number> {
  if (callIds && !callIds.length) return 0;
  const [{ n }] = callIds
    ? await keystore.query('SELECT COUNT(*) AS n FROM data_keys WHERE call_id IN (?)', [callIds])
    : await keystore.query('SELECT COUNT(*) AS n FROM data_keys');
  return Number(n);
}

/** Backdates these calls' data keys (made, and quarantined when `quarantinedAt` is given): what time does to them. */
export async function backdateDataKeys(
  keystore: KeystoreQueries,
  callIds: string[],
  at: { createdAt: Date; quarantinedAt?: Date },
): Promise<void> {
  if (!callIds.length) return;
  if (at.quarantinedAt)
    await keystore.query('UPDATE data_keys SET created_at = ?, quarantined_at = ? WHERE call_id IN (?)', [
      at.createdAt,
      at.quarantinedAt,
      callIds,
    ]);
  else await keystore.query('UPDATE data_keys SET created_at = ? WHERE call_id IN (?)', [at.createdAt, callIds]);
}
