import { readFileSync } from 'fs';
import { join } from 'path';
import { parseRoutingConfig, parseWording } from '@hotline/config';
import { OverflowTwiml } from './overflow.twiml';

const ROOT = join(__dirname, '..', '..', '..', '..');
const wording = () => parseWording(readFileSync(join(ROOT, 'config', 'wording.yaml'), 'utf8'));
const routing = (callbacks: string) =>
  parseRoutingConfig(
    ['version: "1"', 'overflow: [callback, backup_line]', 'backupLine: "+15550009999"', `callbacks: ${callbacks}`].join('\n'),
  );

describe('overflow TwiML: the backup line and answering machines', () => {
  it('puts nothing after the backup line’s <Dial>: its action says what follows (nothing when answered, the unavailable words otherwise)', () => {
    const w = wording();
    const twiml = new OverflowTwiml('https://hotline.example.test/', w, routing('{}'));
    expect(twiml.backupLine()).toMatch(
      /<Dial timeout="30" action="https:\/\/hotline\.example\.test\/twilio\/voice\/overflow\/backup-dialled" method="POST">\+15550009999<\/Dial><\/Response>$/,
    );
    expect(twiml.backupLineEnded(true)).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(twiml.backupLineEnded(false)).toContain(w.unavailable);
    expect(twiml.backupLineEnded(false)).toContain('<Hangup/>');
  });

  it('leaves nothing on a machine by default (callbacks.onMachine: hangup)', () => {
    const cfg = routing('{}');
    expect(cfg.callbacks.onMachine).toBe('hangup');
    expect(new OverflowTwiml('https://h.example.test', wording(), cfg).callbackOnMachine()).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>',
    );
  });

  it('with callbacks.onMachine: message, says the wording’s overflow.callbackMachine and hangs up; without that wording it does not start', () => {
    const w = wording();
    const words = (w.overflow as Record<string, string>).callbackMachine;
    expect(words).toBeTruthy();
    const cfg = routing('{ onMachine: message }');
    const twiml = new OverflowTwiml('https://h.example.test', w, cfg).callbackOnMachine();
    expect(twiml).toContain(`>${words}</Say><Hangup/></Response>`);
    const without = { ...w, overflow: { ...w.overflow, callbackMachine: undefined } } as unknown as typeof w;
    expect(() => new OverflowTwiml('https://h.example.test', without, cfg)).toThrow(/overflow\.callbackMachine/);
    expect(() => routing('{ onMachine: voicemail }')).toThrow(/callbacks\.onMachine: must be hangup or message/);
  });
});
