import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'crypto';
import { DataSource } from 'typeorm';
import { Clock, systemClock } from '@hotline/clock';

export const CODE_TTL_MS = 10 * 60 * 1000;
/** Wrong entries a number may make, across its codes and calls, before it is locked out. */
export const MAX_ATTEMPTS = 3;
export const BLOCK_MS = 60 * 60 * 1000;
/** Wrong entries count against a number while the code they were made on was issued within this window. */
export const WRONG_ENTRY_WINDOW_MS = 60 * 60 * 1000;

export type IssueResult = { ok: true; code: string } | { ok: false; blockedUntil: Date };
export type VerifyResult = 'ok' | 'wrong' | 'expired' | 'locked' | 'no_code';

/**
 * Six-digit codes sent by SMS to the number a caller rings from. Stored only as a keyed hash
 * (a plain hash of a six-digit code is reversed in a millisecond). Wrong entries are counted per
 * number (its pseudonym), across codes and calls: three on codes issued within the last hour lock
 * the number out of new codes for an hour, so hanging up and calling again for a fresh code
 * starts nothing from zero. A right code clears the count. How many codes may be sent (per
 * number, per country, in all) is `SmsCaps`' business, before `issue`.
 */
export class PrivacyVerification {
  private readonly key: Buffer;

  constructor(
    private readonly ds: DataSource,
    pseudonymKey: Buffer,
    private readonly clock: Clock = systemClock,
  ) {
    this.key = createHmac('sha256', pseudonymKey).update('hotline:privacy-code-key').digest();
  }

  private hash(pseudonym: string, code: string): string {
    return createHmac('sha256', this.key).update(`${pseudonym}:${code}`).digest('hex');
  }

  async blockedUntil(pseudonym: string): Promise<Date | null> {
    const rows = await this.ds.query('SELECT blocked_until FROM privacy_blocks WHERE caller_pseudonym = ? AND blocked_until > ?', [
      pseudonym,
      this.clock.now(),
    ]);
    return rows.length ? new Date(rows[0].blocked_until) : null;
  }

  /** A fresh code (earlier unused ones stop working), unless the number is locked out. */
  async issue(pseudonym: string): Promise<IssueResult> {
    const blocked = await this.blockedUntil(pseudonym);
    if (blocked) return { ok: false, blockedUntil: blocked };
    const now = this.clock.now();
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.ds.transaction(async (m) => {
      await m.query('UPDATE privacy_codes SET used_at = ? WHERE caller_pseudonym = ? AND used_at IS NULL', [now, pseudonym]);
      await m.query(
        'INSERT INTO privacy_codes (id, caller_pseudonym, code_hash, expires_at, attempts, created_at) VALUES (?, ?, ?, ?, 0, ?)',
        [randomUUID(), pseudonym, this.hash(pseudonym, code), new Date(now.getTime() + CODE_TTL_MS), now],
      );
    });
    return { ok: true, code };
  }

  async verify(pseudonym: string, entered: string): Promise<{ result: VerifyResult; attemptsLeft: number }> {
    return this.ds.transaction(async (m) => {
      const now = this.clock.now();
      const rows = await m.query(
        'SELECT id, code_hash, expires_at, attempts FROM privacy_codes WHERE caller_pseudonym = ? AND used_at IS NULL ORDER BY created_at DESC LIMIT 1 FOR UPDATE',
        [pseudonym],
      );
      if (!rows.length) return { result: 'no_code' as const, attemptsLeft: 0 };
      const row = rows[0];
      if (new Date(row.expires_at) <= now) {
        await m.query('UPDATE privacy_codes SET used_at = ? WHERE id = ?', [now, row.id]);
        return { result: 'expired' as const, attemptsLeft: 0 };
      }
      const given = Buffer.from(
        this.hash(
          pseudonym,
          String(entered ?? '')
            .replace(/\D/g, '')
            .slice(0, 12),
        ),
        'hex',
      );
      if (timingSafeEqual(given, Buffer.from(row.code_hash, 'hex'))) {
        await m.query('UPDATE privacy_codes SET used_at = ? WHERE id = ?', [now, row.id]);
        // The number proved itself: its earlier wrong entries no longer count towards a lock.
        await m.query('UPDATE privacy_codes SET attempts = 0 WHERE caller_pseudonym = ? AND attempts > 0', [pseudonym]);
        return { result: 'ok' as const, attemptsLeft: MAX_ATTEMPTS };
      }
      const attempts = Number(row.attempts) + 1;
      // This code's row is locked, and every other code of the number is used up: nothing below changes under us.
      const [earlier] = await m.query(
        'SELECT COALESCE(SUM(attempts), 0) AS n FROM privacy_codes WHERE caller_pseudonym = ? AND id <> ? AND created_at > ?',
        [pseudonym, row.id, new Date(now.getTime() - WRONG_ENTRY_WINDOW_MS)],
      );
      const wrong = Number(earlier.n) + attempts;
      if (wrong >= MAX_ATTEMPTS) {
        await m.query('UPDATE privacy_codes SET attempts = ?, used_at = ? WHERE id = ?', [attempts, now, row.id]);
        await m.query(
          'INSERT INTO privacy_blocks (caller_pseudonym, blocked_until) VALUES (?, ?) ON DUPLICATE KEY UPDATE blocked_until = VALUES(blocked_until)',
          [pseudonym, new Date(now.getTime() + BLOCK_MS)],
        );
        return { result: 'locked' as const, attemptsLeft: 0 };
      }
      await m.query('UPDATE privacy_codes SET attempts = ? WHERE id = ?', [attempts, row.id]);
      return { result: 'wrong' as const, attemptsLeft: MAX_ATTEMPTS - wrong };
    });
  }
}
