import { spawnSync } from 'child_process';
import { join } from 'path';

/**
 * The types the gateway reads Twilio's fields through (twilio-fields.ts) are exactly what Twilio
 * documents for each route (test/fixtures/twilio-webhooks.json): regenerated here and compared.
 */
describe('typed Twilio fields', () => {
  it('are what the documented webhooks fixture gives, route by route', () => {
    const root = join(__dirname, '..', '..', '..', '..');
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'twilio-fields.js'), '--check'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
