import { readFileSync } from 'fs';
import { join } from 'path';
import { countryListProblem } from './env.validation';
import { loadEnv } from './load-env';
import { parseRoutingConfig } from './routing-config';

/** Issue 24: where callbacks may call (CALLBACK_COUNTRIES) and how often (callbacks.caps in the routing file). */
describe('callback settings', () => {
  const minimal = ['version: "1"', 'overflow: [callback]'];

  it('the committed routing file caps callbacks: 3 per number a day, 60 for the line an hour', () => {
    const cfg = parseRoutingConfig(readFileSync(join(__dirname, '..', '..', '..', 'config', 'routing.yaml'), 'utf8'));
    expect(cfg.callbacks.caps).toEqual({ perNumberPerDay: 3, perHour: 60 });
  });

  it('callbacks.caps defaults, takes its two keys, and names what is wrong', () => {
    expect(parseRoutingConfig(minimal.join('\n')).callbacks.caps).toEqual({ perNumberPerDay: 3, perHour: 60 });
    expect(parseRoutingConfig([...minimal, 'callbacks: { caps: { perNumberPerDay: 1, perHour: 500 } }'].join('\n')).callbacks.caps).toEqual(
      {
        perNumberPerDay: 1,
        perHour: 500,
      },
    );
    expect(() => parseRoutingConfig([...minimal, 'callbacks: { caps: { perNumberPerDay: 0, perDay: 5 } }'].join('\n'), 'test')).toThrow(
      /callbacks\.caps\.perDay: unknown key[\s\S]*callbacks\.caps\.perNumberPerDay: must be an integer from 1 to 100/,
    );
  });

  it('CALLBACK_COUNTRIES: ISO 3166 codes only', () => {
    expect(countryListProblem('GB')).toBeNull();
    expect(countryListProblem('gb, IE,US')).toBeNull();
    expect(countryListProblem('UK')).toMatch(/GB/);
    expect(countryListProblem('GB,,IE')).toMatch(/empty/);
    expect(countryListProblem('GBR')).toMatch(/two-letter/);
    expect(countryListProblem('XX')).toMatch(/no country/);
    expect(countryListProblem('EU')).toMatch(/no country/);
  });

  it('an app started with a malformed CALLBACK_COUNTRIES stops, naming it', () => {
    expect(() => loadEnv([], { ...process.env, CALLBACK_COUNTRIES: 'UK' })).toThrow(/CALLBACK_COUNTRIES/);
    expect(loadEnv([], { ...process.env, CALLBACK_COUNTRIES: 'GB,IE' }).CALLBACK_COUNTRIES).toBe('GB,IE');
  });
});
