import { KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from 'crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';
import { canonicalJson } from './audit.chain';

/**
 * Signed checkpoints of the audit chain, kept outside MySQL (a directory, ideally on storage the
 * database's administrators cannot write). Each checkpoint lists the hash of every entry since the
 * one before it and is signed with an Ed25519 key that the database never sees (held by the
 * worker, which writes them). Whoever rewrites entries in MySQL and recomputes every hash and the
 * head still disagrees with the checkpoints: `verify` names the first entry that does.
 */
export interface AuditCheckpoint {
  /** Entries covered: (fromSeq, toSeq]. */
  fromSeq: number;
  toSeq: number;
  /** The hash of each entry fromSeq+1 .. toSeq, in order (the last is the chain head at `at`). */
  hashes: string[];
  at: string;
  keyId: string;
  signature: string;
}

export interface CheckpointKeys {
  /** Signs new checkpoints (the worker's `AUDIT_CHECKPOINT_KEY`); absent where none are written. */
  signing?: KeyObject;
  /** Verify checkpoints (`AUDIT_CHECKPOINT_PUBLIC_KEY`, several during rotation; or derived from the signing key). */
  verifying: KeyObject[];
}

/** PEM keys from the environment: the private key, and public keys (several PEM blocks may be concatenated). */
export function checkpointKeys(privatePem?: string, publicPems?: string): CheckpointKeys {
  const signing = privatePem ? createPrivateKey(privatePem.replace(/\\n/g, '\n')) : undefined;
  const verifying = (publicPems ?? '')
    .replace(/\\n/g, '\n')
    .split(/(?=-----BEGIN PUBLIC KEY-----)/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => createPublicKey(p));
  if (signing && !verifying.length) verifying.push(createPublicKey(signing));
  return { signing, verifying };
}

export function keyIdOf(key: KeyObject): string {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

const FILE = /^checkpoint-(\d{12})\.json$/;
const fileName = (toSeq: number) => `checkpoint-${String(toSeq).padStart(12, '0')}.json`;
const signedBody = (c: Omit<AuditCheckpoint, 'signature' | 'keyId'>) =>
  Buffer.from(canonicalJson({ fromSeq: c.fromSeq, toSeq: c.toSeq, hashes: c.hashes, at: c.at }));

export class CheckpointStore {
  constructor(
    readonly dir: string,
    private readonly keys: CheckpointKeys,
  ) {}

  get canWrite(): boolean {
    return !!this.keys.signing;
  }

  get canVerify(): boolean {
    return this.keys.verifying.length > 0;
  }

  /** The seq the newest checkpoint covers up to (0 when there is none). */
  latestSeq(): number {
    const seqs = this.files().map((f) => Number(FILE.exec(f)![1]));
    return seqs.length ? Math.max(...seqs) : 0;
  }

  /** Writes a checkpoint for entries (fromSeq, fromSeq + hashes.length]; atomic (temp file, then rename). */
  write(fromSeq: number, hashes: string[], at = new Date()): AuditCheckpoint {
    if (!this.keys.signing) throw new Error('no AUDIT_CHECKPOINT_KEY: this process cannot sign checkpoints');
    const body = { fromSeq, toSeq: fromSeq + hashes.length, hashes, at: at.toISOString() };
    const checkpoint: AuditCheckpoint = {
      ...body,
      keyId: keyIdOf(this.keys.signing),
      signature: sign(null, signedBody(body), this.keys.signing).toString('base64'),
    };
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, fileName(checkpoint.toSeq));
    writeFileSync(`${path}.tmp`, JSON.stringify(checkpoint) + '\n', { mode: 0o640 });
    renameSync(`${path}.tmp`, path);
    return checkpoint;
  }

  /**
   * Every checkpoint, oldest first, with its signature checked. A file that does not parse or whose
   * signature no configured key accepts is returned as a problem: it is not believed.
   */
  readAll(): { checkpoints: AuditCheckpoint[]; problems: string[] } {
    const checkpoints: AuditCheckpoint[] = [];
    const problems: string[] = [];
    for (const f of this.files().sort()) {
      const c = this.read(f);
      if (typeof c === 'string') problems.push(c);
      else checkpoints.push(c);
    }
    return { checkpoints, problems };
  }

  /** The newest checkpoint if its signature holds (what the next checkpoint continues from), else null. */
  latest(): AuditCheckpoint | null {
    const newest = this.files().sort().at(-1);
    const c = newest ? this.read(newest) : null;
    return c && typeof c !== 'string' ? c : null;
  }

  /** One checkpoint file, its signature checked; a string naming the problem when it is not believed. */
  private read(f: string): AuditCheckpoint | string {
    let c: AuditCheckpoint;
    try {
      c = JSON.parse(readFileSync(join(this.dir, f), 'utf8'));
    } catch {
      return `${f} cannot be read`;
    }
    const valid =
      Array.isArray(c.hashes) &&
      c.toSeq === c.fromSeq + c.hashes.length &&
      this.keys.verifying.some((k) => keyIdOf(k) === c.keyId && verify(null, signedBody(c), k, Buffer.from(String(c.signature), 'base64')));
    return valid ? c : `${f} has no valid signature`;
  }

  private files(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => FILE.test(f));
    } catch {
      return [];
    }
  }
}
