import { compareVersions } from './agreements';
import { passwordProblem } from './password-policy';
import { looksLikeRecoveryCode, newRecoveryCodes, recoveryCodeHash, secondFactorRoles, totpStep } from './second-factor';
import { TOTP, Secret } from 'otpauth';

describe('staff policies', () => {
  it('orders agreement versions by their numbers, not as text', () => {
    expect(['10', '2', '1.10', '1.9', '2024-10', '2024-9'].sort(compareVersions)).toEqual(['1.9', '1.10', '2', '10', '2024-9', '2024-10']);
    expect(compareVersions('3', '3')).toBe(0);
  });

  it('refuses short, breached and guessable passwords, and passwords made of the member’s own name', () => {
    expect(passwordProblem('short')).toMatch(/at least 12/);
    expect(passwordProblem('Qwerty123456')).toMatch(/breached/);
    expect(passwordProblem('robinrobin1234', ['robin'])).toMatch(/easy to guess/);
    expect(passwordProblem('harbour lantern quietly seventy')).toBeNull();
  });

  it('reads SECOND_FACTOR_ROLES, empty meaning none', () => {
    expect([...secondFactorRoles('supervisor, admin,nobody')]).toEqual(['supervisor', 'admin']);
    expect(secondFactorRoles('').size).toBe(0);
  });

  it('accepts a TOTP code one step either side of now, and names its step', () => {
    const secret = new Secret({ size: 20 }).base32;
    const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
    const now = 1_800_000_000_000;
    const step = Math.floor(now / 30000);
    expect(totpStep(secret, totp.generate({ timestamp: now }), now)).toBe(step);
    expect(totpStep(secret, totp.generate({ timestamp: now + 30000 }), now)).toBe(step + 1);
    expect(totpStep(secret, totp.generate({ timestamp: now - 90000 }), now)).toBeNull();
    expect(totpStep(secret, 'abcdef', now)).toBeNull();
  });

  it('makes ten distinct recovery codes, told apart from TOTP codes, hashed whatever their spelling', () => {
    const codes = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(looksLikeRecoveryCode(c)).toBe(true);
    expect(looksLikeRecoveryCode('123456')).toBe(false);
    expect(recoveryCodeHash(codes[0].toUpperCase().replace('-', ' '))).toBe(recoveryCodeHash(codes[0]));
  });
});
