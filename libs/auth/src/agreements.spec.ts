import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Env } from '@hotline/config';
import { AgreementCatalog, agreementRequired } from './agreements';

describe('the confidentiality agreement catalogue', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'hotline-agreements-spec-'));
    dirs.push(d);
    return d;
  };
  const catalog = (AGREEMENTS_DIR: string) => new AgreementCatalog({ AGREEMENTS_DIR } as Env);
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('is required everywhere but the test harness and the demo', () => {
    expect(agreementRequired({}, {})).toBe(true);
    expect(agreementRequired({}, { NODE_ENV: 'production' })).toBe(true);
    expect(agreementRequired({}, { NODE_ENV: 'test' })).toBe(false);
    expect(agreementRequired({}, { HOTLINE_TEST_ID: 'bench' })).toBe(false);
    expect(agreementRequired({ HOTLINE_DEMO: '1' }, {})).toBe(false);
  });

  it('refuses to start on a missing, empty or unreadable directory, naming it', () => {
    const missing = join(tmpdir(), `hotline-no-such-dir-${process.pid}`);
    expect(() => catalog(missing).assertPublished()).toThrow(`AGREEMENTS_DIR ${missing} cannot be read`);
    const empty = dir();
    expect(() => catalog(empty).assertPublished()).toThrow('holds no readable agreement');
    const ok = dir();
    writeFileSync(join(ok, '1.md'), '# Agreement\n');
    expect(() => catalog(ok).assertPublished()).not.toThrow();
  });

  it('keeps the version last read when the directory can no longer be read; follows a version published or withdrawn', () => {
    const d = dir();
    writeFileSync(join(d, '1.md'), '# One\n');
    const c = catalog(d);
    expect(c.refresh()?.version).toBe('1');
    writeFileSync(join(d, '2.md'), '# Two\n');
    expect(c.refresh()?.version).toBe('2');
    rmSync(join(d, '2.md'));
    expect(c.refresh()?.version).toBe('1');
    rmSync(d, { recursive: true, force: true });
    expect(c.refresh()?.version).toBe('1'); // gone: still asked for
    expect(c.satisfied(null)).toBe(false);
    expect(c.satisfied('1')).toBe(true);
  });

  it('asks for the version records announced when it is later than its own copy', () => {
    const d = dir();
    writeFileSync(join(d, '1.md'), '# One\n');
    const c = catalog(d);
    c.announced('2');
    expect(c.requiredVersion()).toBe('2');
    expect(c.satisfied('1')).toBe(false);
    c.announced('1');
    expect(c.requiredVersion()).toBe('1');
  });
});
