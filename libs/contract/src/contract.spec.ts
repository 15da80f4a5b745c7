import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { CONTENT_READERS, DISCLOSABLE_FIELDS, NAMESPACE_ROLES, NAMESPACES, RISK_LEVELS, ROLES, isRole } from '@hotline/contract';

describe('the shared contract', () => {
  it('imports nothing from outside its own folder (the browser console bundles it)', () => {
    const sources = readdirSync(__dirname).filter((f) => /\.ts$/.test(f) && !f.endsWith('.spec.ts'));
    expect(sources.length).toBeGreaterThan(0);
    for (const file of sources) {
      const text = readFileSync(join(__dirname, file), 'utf8');
      const specifiers = [...text.matchAll(/\b(?:from|import|require)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      expect({ file, outside: specifiers.filter((s) => !s.startsWith('./')) }).toEqual({ file, outside: [] });
    }
  });

  it('names the roles, levels and fields that DESIGN.md names', () => {
    expect(ROLES).toEqual(['operator', 'supervisor', 'records_officer', 'auditor', 'admin']);
    expect(RISK_LEVELS).toEqual(['none', 'low', 'moderate', 'high', 'imminent']);
    expect(DISCLOSABLE_FIELDS).toEqual(['caller_location', 'caller_name', 'phone_number', 'risk_summary', 'call_time']);
    expect(CONTENT_READERS).toEqual(['operator', 'supervisor']);
    expect(NAMESPACE_ROLES[NAMESPACES.operator]).toEqual(['operator', 'supervisor']);
    expect(NAMESPACE_ROLES[NAMESPACES.supervisor]).toEqual(['supervisor', 'admin']);
    expect([isRole('auditor'), isRole('root'), isRole(undefined)]).toEqual([true, false, false]);
  });
});
