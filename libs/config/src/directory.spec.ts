import { join } from 'path';
import { PROJECT_ROOT } from './defaults';
import { loadDirectory, parseDirectory } from './directory';

describe('transfer directory', () => {
  it('loads the shipped config/directory.yaml with an emergency entry', () => {
    const d = loadDirectory(join(PROJECT_ROOT, 'config', 'directory.yaml'));
    expect(d.entries.length).toBeGreaterThan(0);
    expect(d.entries.some((e) => e.kind === 'emergency')).toBe(true);
    expect(d.get('interpreter-line')?.kind).toBe('interpreter');
    expect(d.get('nobody')).toBeUndefined();
  });

  it('names every problem, and never repeats a number it refuses', () => {
    const text = [
      'entries:',
      '  - { id: Bad Id, name: "", number: "0207 946 0000", kind: police }',
      '  - { id: ok, name: Fine, number: "+15555550100", kind: other, extra: 1 }',
      '  - { id: ok, name: Twice, number: "+15555550101", kind: other }',
      'more: 1',
    ].join('\n');
    let msg = '';
    try {
      parseDirectory(text);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/more: unknown key/);
    expect(msg).toMatch(/entries\[0\]\.id/);
    expect(msg).toMatch(/entries\[0\]\.name/);
    expect(msg).toMatch(/entries\[0\]\.number: must be an E\.164/);
    expect(msg).toMatch(/entries\[0\]\.kind: one of emergency/);
    expect(msg).toMatch(/entries\[1\]\.extra: unknown key/);
    expect(msg).toMatch(/entries\[2\]\.id: ok appears twice/);
    expect(msg).not.toContain('0207 946 0000');
  });

  it('refuses a file that is not a directory', () => {
    expect(() => parseDirectory('- a\n- b')).toThrow(/entries list/);
    expect(() => loadDirectory('/nonexistent/directory.yaml')).toThrow(/cannot be read \(ENOENT\)/);
  });
});
