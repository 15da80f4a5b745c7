/** A data key as listed: which call it is for, and when it was made. No key material. */
export interface DataKeyEntry {
  callId: string;
  createdAt: Date;
  /** When the reconciler found its call row missing (null: not in quarantine). */
  quarantinedAt: Date | null;
}

/**
 * The keystore port: one data key per call, wrapped by the master key and kept apart from the
 * records. Content is encrypted under it (ContentCipher); destroying it makes every copy of the
 * call's content unreadable (crypto-shredding). Injected by this class as its token; implemented
 * by KeystoreService. Nothing else reads or writes data keys.
 *
 * Call ids are compared in their canonical (lower-case) form.
 */
export abstract class DataKeyStore {
  /** The call's data key, created on first use; safe when two processes ask at once. */
  abstract getOrCreate(callId: string): Promise<Buffer>;

  /** The call's data key, unwrapped; throws DataKeyDestroyedError when there is none. May answer from a short cache. */
  abstract unwrap(callId: string): Promise<Buffer>;

  /** Whether the call has a data key (asked of the store itself, never of a cache). */
  abstract exists(callId: string): Promise<boolean>;

  /** Of these calls, those that have a data key. */
  abstract existing(callIds: string[]): Promise<Set<string>>;

  /** Crypto-shredding of one call. Idempotent. */
  abstract destroy(callId: string): Promise<'destroyed' | 'already_gone'>;

  /** Crypto-shredding of many calls at once (one statement, one commit); the keys destroyed. Idempotent. */
  abstract destroyMany(callIds: string[]): Promise<number>;

  /** Keys in call-id order after `afterCallId` (keyset paging; '' for the first page). */
  abstract list(afterCallId: string, limit: number): Promise<DataKeyEntry[]>;

  /** How many keys there are. */
  abstract count(): Promise<number>;

  /** The records database this keystore belongs to (records_identity.database_id), or null while unpaired. */
  abstract pairedWith(): Promise<string | null>;

  /** Pairs an unpaired keystore with a records database; answers the pairing that stands (a paired keystore keeps its own). */
  abstract pair(recordsDatabaseId: string): Promise<string>;

  /** Puts keys in quarantine (their call row is missing) from `at`; those already there keep their date. */
  abstract quarantine(callIds: string[], at: Date): Promise<void>;

  /** Takes keys out of quarantine (their call row is back). */
  abstract release(callIds: string[]): Promise<void>;
}
