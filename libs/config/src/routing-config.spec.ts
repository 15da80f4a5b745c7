import { readFileSync } from 'fs';
import { join } from 'path';
import { isOpen, parseRoutingConfig } from './routing-config';

describe('routing config (config/routing.yaml)', () => {
  it('reads the committed file: open round the clock, keep waiting first', () => {
    const cfg = parseRoutingConfig(readFileSync(join(__dirname, '..', '..', '..', 'config', 'routing.yaml'), 'utf8'));
    expect(cfg.overflow[0]).toBe('keep_waiting');
    expect(isOpen(cfg, new Date('2026-11-29T03:00:00Z'))).toBe(true);
  });

  it('opens by the local weekday and hour, closes on holidays', () => {
    const cfg = parseRoutingConfig(
      [
        'version: "1"',
        'timeZone: America/New_York',
        'openingHours: { mon: ["09:00-17:00"], sat: ["10:00-12:00", "14:00-24:00"] }',
        'holidays: ["2026-11-30"]',
        'overflow: [callback]',
      ].join('\n'),
    );
    // Monday 30 November is a holiday; Monday 7 December 10:00 in New York is 15:00 UTC.
    expect(isOpen(cfg, new Date('2026-11-30T15:00:00Z'))).toBe(false);
    expect(isOpen(cfg, new Date('2026-12-07T15:00:00Z'))).toBe(true);
    expect(isOpen(cfg, new Date('2026-12-07T13:59:00Z'))).toBe(false);
    // Saturday 23:30 New York is Sunday 04:30 UTC: inside 14:00-24:00.
    expect(isOpen(cfg, new Date('2026-12-06T04:30:00Z'))).toBe(true);
    expect(isOpen(cfg, new Date('2026-12-05T18:00:00Z'))).toBe(false);
  });

  it('names every problem at once', () => {
    expect(() =>
      parseRoutingConfig(
        [
          'timeZone: Mars/Olympus',
          'openingHours: { mon: ["17:00-09:00"], funday: [] }',
          'overflow: [callback, pigeon, callback, backup_line]',
          'backupLine: "0800 123"',
          'callbacks: { maxAttempts: 0 }',
          'maxWait: ten minutes',
          'surprise: 1',
        ].join('\n'),
        'test',
      ),
    ).toThrow(
      /test is invalid[\s\S]*surprise: unknown key[\s\S]*version: is required[\s\S]*timeZone[\s\S]*funday: unknown day[\s\S]*"17:00-09:00"[\s\S]*maxWait[\s\S]*unknown choice "pigeon"[\s\S]*listed twice[\s\S]*backupLine: must be an E.164 number[\s\S]*maxAttempts/,
    );
  });
});
