import type { Env } from '@hotline/config';
import { StaffSecretSeal } from './staff-secret-seal';

const A = Buffer.alloc(32, 1).toString('base64');
const B = Buffer.alloc(32, 2).toString('base64');
const env = (MASTER_KEY: string, MASTER_KEY_OLD?: string) => ({ MASTER_KEY, MASTER_KEY_OLD }) as unknown as Env;

describe(StaffSecretSeal.name, () => {
  it('seals a second-factor secret so that the stored text holds none of it, and opens it for the same member only', () => {
    const seal = new StaffSecretSeal(env(A));
    const stored = seal.seal('staff-1', 'JBSWY3DPEHPK3PXP');
    expect(stored).toMatch(/^sealed:v1:[0-9a-f]{16}:[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain('JBSWY3DPEHPK3PXP');
    expect(seal.open('staff-1', stored)).toEqual({ secret: 'JBSWY3DPEHPK3PXP', stale: false });
    expect(() => seal.open('staff-2', stored)).toThrow();
    expect(() => new StaffSecretSeal(env(B)).open('staff-1', stored)).toThrow(/not configured/);
  });

  it('opens a secret sealed under a key being rotated out, and says so', () => {
    const stored = new StaffSecretSeal(env(A)).seal('staff-1', 'JBSWY3DPEHPK3PXP');
    const rotated = new StaffSecretSeal(env(B, A));
    expect(rotated.open('staff-1', stored)).toEqual({ secret: 'JBSWY3DPEHPK3PXP', stale: true });
    expect(rotated.open('staff-1', rotated.seal('staff-1', 'JBSWY3DPEHPK3PXP')).stale).toBe(false);
  });
});
