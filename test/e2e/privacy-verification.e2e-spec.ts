import { randomBytes, randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { contactPublicKeyPem, openContact, sealContact } from '@hotline/crypto';
import { PrivacyVerification, callerSummary, requestDeletion, cancelPendingDeletion } from '@hotline/privacy';
import { openTestDataSources, dumpAllText } from '../support/db';
import { FakeClock } from '../support/fake-clock';

describe(PrivacyVerification.name, () => {
  let db: DataSource;
  let close: () => Promise<void>;
  const clock = new FakeClock(new Date('2026-11-22T10:00:00Z')).freeze();
  let v: PrivacyVerification;
  const pseudonym = () => randomBytes(32).toString('hex');
  const wrongFor = (code: string) => (code === '000000' ? '111111' : '000000');

  beforeAll(async () => {
    ({ db, close } = await openTestDataSources());
    v = new PrivacyVerification(db, randomBytes(32), clock);
  });
  afterAll(() => close());

  it('accepts the code it issued, once, and keeps only its keyed hash', async () => {
    const p = pseudonym();
    const issued = await v.issue(p);
    if (!issued.ok) throw new Error('blocked');
    expect(issued.code).toMatch(/^\d{6}$/);
    // The code as a value of its own: six digits also turn up, by chance, inside the database's hex
    // hashes and SIDs (the audit chain's, Twilio's), which are not the code.
    expect(await dumpAllText(db)).not.toMatch(new RegExp(`(?<![0-9a-zA-Z])${issued.code}(?![0-9a-zA-Z])`));
    expect((await v.verify(p, issued.code)).result).toBe('ok');
    expect((await v.verify(p, issued.code)).result).toBe('no_code');
  });

  it('refuses an expired code', async () => {
    const p = pseudonym();
    const issued = await v.issue(p);
    if (!issued.ok) throw new Error('blocked');
    clock.advance(10 * 60 * 1000 + 1);
    expect((await v.verify(p, issued.code)).result).toBe('expired');
  });

  it('locks the number for an hour after three wrong codes', async () => {
    const p = pseudonym();
    const issued = await v.issue(p);
    if (!issued.ok) throw new Error('blocked');
    const wrong = issued.code === '000000' ? '111111' : '000000';
    expect(await v.verify(p, wrong)).toEqual({ result: 'wrong', attemptsLeft: 2 });
    expect(await v.verify(p, wrong)).toEqual({ result: 'wrong', attemptsLeft: 1 });
    expect((await v.verify(p, wrong)).result).toBe('locked');
    expect((await v.verify(p, issued.code)).result).toBe('no_code');
    const again = await v.issue(p);
    expect(again.ok).toBe(false);
    clock.advance(60 * 60 * 1000 + 1);
    expect((await v.issue(p)).ok).toBe(true);
  });

  it('counts wrong entries per number across codes: a fresh code does not start from zero', async () => {
    const p = pseudonym();
    const first = await v.issue(p);
    if (!first.ok) throw new Error('blocked');
    expect(await v.verify(p, wrongFor(first.code))).toEqual({ result: 'wrong', attemptsLeft: 2 });
    expect(await v.verify(p, wrongFor(first.code))).toEqual({ result: 'wrong', attemptsLeft: 1 });
    const second = await v.issue(p);
    if (!second.ok) throw new Error('blocked');
    expect((await v.verify(p, wrongFor(second.code))).result).toBe('locked');
    expect(await v.blockedUntil(p)).toEqual(new Date(clock.nowMs() + 60 * 60 * 1000));
    expect((await v.issue(p)).ok).toBe(false);
  });

  it('forgets wrong entries on codes issued over an hour ago, and after a right code', async () => {
    const p = pseudonym();
    const a = await v.issue(p);
    if (!a.ok) throw new Error('blocked');
    expect(await v.verify(p, wrongFor(a.code))).toEqual({ result: 'wrong', attemptsLeft: 2 });
    expect(await v.verify(p, wrongFor(a.code))).toEqual({ result: 'wrong', attemptsLeft: 1 });
    clock.advance(60 * 60 * 1000 + 1);
    const b = await v.issue(p);
    if (!b.ok) throw new Error('blocked');
    expect(await v.verify(p, wrongFor(b.code))).toEqual({ result: 'wrong', attemptsLeft: 2 });
    expect((await v.verify(p, b.code)).result).toBe('ok');
    const c = await v.issue(p);
    if (!c.ok) throw new Error('blocked');
    expect(await v.verify(p, wrongFor(c.code))).toEqual({ result: 'wrong', attemptsLeft: 2 });
  });
});

describe('deletion requests by phone', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  beforeAll(async () => ({ db, close } = await openTestDataSources()));
  afterAll(() => close());

  it('is idempotent while pending and can be cancelled', async () => {
    const p = randomBytes(32).toString('hex');
    const summary = await callerSummary(db, p);
    expect(summary).toEqual({ total: 0, held: 0 });
    const a = await requestDeletion(db, { pseudonym: p, executeAfter: new Date(Date.now() + 1000), summary, contactEnc: null });
    const b = await requestDeletion(db, { pseudonym: p, executeAfter: new Date(Date.now() + 5000), summary, contactEnc: null });
    expect(a.created).toBe(true);
    expect(b).toMatchObject({ id: a.id, created: false });
    expect(await cancelPendingDeletion(db, p)).toBe(a.id);
    expect(await cancelPendingDeletion(db, p)).toBeNull();
    const [row] = await db.query('SELECT status, cancelled_at FROM deletion_requests WHERE id = ?', [a.id]);
    expect(row.status).toBe('cancelled');
  });
});

describe('contact sealing', () => {
  it('lets only the holder of the master key open a sealed number, in its own context', () => {
    const master = randomBytes(32);
    const id = randomUUID();
    const sealed = sealContact(contactPublicKeyPem(master), '+447700900123', id);
    expect(sealed.toString('latin1')).not.toContain('447700900123');
    expect(openContact(master, sealed, id)).toBe('+447700900123');
    expect(() => openContact(randomBytes(32), sealed, id)).toThrow();
    expect(() => openContact(master, sealed, randomUUID())).toThrow();
  });
});
