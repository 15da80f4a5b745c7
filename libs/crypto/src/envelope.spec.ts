import { randomBytes } from 'crypto';
import { associatedData, DecryptionError, masterKeyId, open, seal, unwrapDataKey, wrapDataKey } from './envelope';
import { callerPseudonym, normaliseE164 } from './pseudonym';

describe('envelope encryption', () => {
  const key = randomBytes(32);

  it('round-trips content under the same call and field', () => {
    const sealed = seal(key, Buffer.from('caller spoke about their week'), associatedData('call-a', 'note'));
    expect(sealed.toString('latin1')).not.toContain('their week');
    expect(open(key, sealed, associatedData('call-a', 'note')).toString()).toBe('caller spoke about their week');
  });

  it('refuses a ciphertext moved to another call', () => {
    const sealed = seal(key, Buffer.from('x'), associatedData('call-a', 'note'));
    expect(() => open(key, sealed, associatedData('call-b', 'note'))).toThrow(DecryptionError);
  });

  it('refuses a ciphertext moved to another field', () => {
    const sealed = seal(key, Buffer.from('x'), associatedData('call-a', 'note'));
    expect(() => open(key, sealed, associatedData('call-a', 'escalation'))).toThrow(DecryptionError);
  });

  it('refuses a tampered ciphertext and the wrong key', () => {
    const sealed = seal(key, Buffer.from('hello'), associatedData('c', 'f'));
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => open(key, tampered, associatedData('c', 'f'))).toThrow(DecryptionError);
    expect(() => open(randomBytes(32), sealed, associatedData('c', 'f'))).toThrow(DecryptionError);
  });

  it('wraps a data key so that only its call can unwrap it', () => {
    const master = randomBytes(32);
    const dk = randomBytes(32);
    const wrapped = wrapDataKey(master, dk, 'call-1');
    expect(unwrapDataKey(master, wrapped, 'call-1').equals(dk)).toBe(true);
    expect(() => unwrapDataKey(master, wrapped, 'call-2')).toThrow(DecryptionError);
    expect(masterKeyId(master)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('caller pseudonym', () => {
  const k = randomBytes(32);
  it('is stable for one number and differs between numbers and keys', () => {
    expect(callerPseudonym(k, '+447700900123')).toBe(callerPseudonym(k, '+447700900123'));
    expect(callerPseudonym(k, '+447700900123')).not.toBe(callerPseudonym(k, '+447700900124'));
    expect(callerPseudonym(randomBytes(32), '+447700900123')).not.toBe(callerPseudonym(k, '+447700900123'));
    expect(callerPseudonym(k, '+447700900123')).not.toContain('447700900123');
  });
  it('treats withheld numbers as unverifiable', () => {
    for (const v of ['anonymous', 'Restricted', '', '+266696687', 'client:op1', undefined]) expect(normaliseE164(v as any)).toBeNull();
    expect(normaliseE164('+44 7700 900123')).toBe('+447700900123');
  });
});
