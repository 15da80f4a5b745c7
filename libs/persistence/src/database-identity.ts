/** Something that runs SQL: a DataSource, an EntityManager or a QueryRunner. */
interface Queries {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * Which database is which (records_identity and keystore_identity, made with the databases by their
 * first migrations): the records database's id, and the records database a keystore is paired with.
 * A keystore is paired once (when migrated beside a records database, or by the reconciler) and
 * never re-paired: against any other records database it destroys nothing.
 */

/** The id of this records database (`records` is a connection to it), or null before its migration. */
export async function recordsDatabaseId(records: Queries): Promise<string | null> {
  const [row] = await records.query('SELECT database_id FROM records_identity WHERE id = 1');
  return row?.database_id ?? null;
}

/** The records database the keystore (`keystore` a connection to it) is paired with, or null while unpaired. */
export async function keystorePairedWith(keystore: Queries): Promise<string | null> {
  const [row] = await keystore.query('SELECT records_database_id FROM keystore_identity WHERE id = 1');
  return row?.records_database_id ?? null;
}

/** Pairs an unpaired keystore with `recordsId` (a paired one keeps its pairing); returns the pairing that stands. */
export async function pairKeystore(keystore: Queries, recordsId: string): Promise<string | null> {
  await keystore.query(
    'UPDATE keystore_identity SET records_database_id = ?, paired_at = NOW(3) WHERE id = 1 AND records_database_id IS NULL',
    [recordsId],
  );
  return keystorePairedWith(keystore);
}
