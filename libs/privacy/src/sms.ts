import { DataSource, EntityManager } from 'typeorm';

/**
 * What the privacy line sends by SMS, and nothing more: the phone may be read by someone else, so
 * no message names the service or what it is about.
 */
export const codeSms = (code: string) => `Your code is ${code}`;
export const CLOSING_SMS = 'Your request has been carried out.';

/** Twilio posts message status changes here (signed like every /twilio/* request). */
export const SMS_STATUS_PATH = '/twilio/sms/status';

/** Final statuses: after these the message can (and must) be deleted at Twilio. */
export const FINAL_SMS_STATUSES = new Set(['delivered', 'undelivered', 'failed', 'read', 'canceled']);

export type SmsPurpose = 'code' | 'closing';

/** Remembers a sent message's SID (sent `at`, by the caller's clock) so that it is deleted at Twilio later. */
export async function recordSentSms(
  db: DataSource | EntityManager,
  sms: { sid: string; purpose: SmsPurpose; pseudonym: string | null; at: Date },
): Promise<void> {
  await db.query(
    'INSERT INTO sms_messages (message_sid, purpose, caller_pseudonym, sent_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE message_sid = message_sid',
    [sms.sid, sms.purpose, sms.pseudonym, sms.at],
  );
}

/** Marks a message deleted at Twilio; false when it is unknown or was marked already. */
export async function markSmsDeleted(db: DataSource | EntityManager, sid: string, at: Date): Promise<boolean> {
  const res = await db.query('UPDATE sms_messages SET deleted_at = ? WHERE message_sid = ? AND deleted_at IS NULL', [at, sid]);
  return Number(res?.affectedRows ?? 0) > 0;
}

export async function smsKnown(db: DataSource | EntityManager, sid: string): Promise<{ deleted: boolean } | null> {
  const rows = await db.query('SELECT deleted_at FROM sms_messages WHERE message_sid = ?', [sid]);
  return rows.length ? { deleted: rows[0].deleted_at != null } : null;
}
