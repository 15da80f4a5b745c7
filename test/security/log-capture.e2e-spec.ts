import { INestApplication } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { readFileSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import request from 'supertest';
import { envFor } from '../support/env-for';
import { Factory, bearer } from '../support/factories';
import { findLeaks, logCaptureFile, noteLiteralsIn, readLogCapture, registerSecret, registeredSecrets } from '../support/log-capture';
import { TwilioPeer } from '../support/twilio-peer';
import { TwilioWebhooks, placeCall, testNumber } from '../support/webhooks';
import { startRecordsApp } from '../support/records-app';
import { startGatewayApp, startTwilioPeer } from '../support/gateway-app';

/**
 * Runs last (see log-scan-last.sequencer.js): every app's log lines of the whole run are in the
 * capture file (LOG_CAPTURE_FILE, children included), and none may carry a caller's number, a
 * verification code or note text. It first puts some of each through the apps itself, so that it
 * proves something even when run alone.
 */
const ROOT = join(__dirname, '..', '..');

function testSources(dir = join(ROOT, 'test')): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? testSources(p) : p.endsWith('.ts') ? [readFileSync(p, 'utf8')] : [];
  });
}

const appLines = (text: string, app: string) => text.split('\n').filter((l) => l.includes(`"app":"${app}"`)).length;

describe('log capture over the whole run', () => {
  it('finds a number, a code and a known note in a line, so that a clean scan means something', () => {
    const leaks = findLeaks(
      [
        '{"msg":"caller +447700900123 rang"}',
        '{"msg":"POST /x","body":"From=%2B15555550134"}',
        '{"msg":"sent","detail":"code is 482913"}',
        '{"note":"she said \\"leave me\\" twice"}',
        '{"msg":"fine","callId":"1b4e28ba-2fa1-11d2-883f-0016d3cca427","time":1763800000000}',
      ].join('\n'),
      [{ kind: 'note', value: 'she said "leave me" twice' }],
    );
    expect(leaks.map((l) => [l.kind, l.line])).toEqual([
      ['phone number', 1],
      ['phone number', 2],
      ['code', 3],
      ['note', 4],
    ]);
  });

  describe('the apps, now', () => {
    let records: INestApplication;
    let gateway: INestApplication;
    let peer: TwilioPeer;
    let f: Factory;

    beforeAll(async () => {
      peer = await startTwilioPeer();
      ({ app: records, f } = await startRecordsApp());
      ({ app: gateway } = await startGatewayApp(envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL: 'https://hotline.example.test' })));
    });
    afterAll(async () => {
      await gateway?.close();
      await records?.close();
      await peer?.stop();
    });

    it('writes what the apps log to the capture file, numbers, codes and notes left out', async () => {
      expect(process.env.LOG_CAPTURE_FILE).toBe(logCaptureFile());
      const before = readLogCapture();

      const from = testNumber();
      registerSecret('number', from);
      const hooks = TwilioWebhooks.for(gateway, envFor({ PUBLIC_URL: 'https://hotline.example.test' }));
      await placeCall(hooks, { from, digits: '1' });
      // A forged webhook is logged (refused): its number must not be.
      await hooks.post('/twilio/voice/incoming', { CallSid: 'CA' + randomBytes(16).toString('hex'), From: from }, { signature: 'forged' });

      const op = await f.staff('operator');
      const callId = await f.call({ operator: op });
      const note = `caller asked us to ring back on ${from}, code 731904, ${randomBytes(6).toString('hex')}`;
      registerSecret('note', note);
      const requestId = `scan-${randomBytes(8).toString('hex')}`;
      await f.http().post(`/calls/${callId}/notes`).set(bearer(op)).set('X-Request-Id', requestId).send({ text: note }).expect(201);
      await f
        .http()
        .post(`/calls/${callId}/notes`)
        .set(bearer(op))
        .set('X-Request-Id', requestId)
        .send({ text: note, extra: from })
        .expect(400);
      await f
        .http()
        .post('/auth/login')
        .set('X-Request-Id', requestId)
        .send({ username: from, password: note.slice(0, 40) })
        .expect(401);
      // A number in a request's path: the access log line carries the path (scrubbed), on both apps.
      await f.http().get(`/calls/${from}`).set(bearer(op)).set('X-Request-Id', requestId).expect(400);
      await request(gateway.getHttpServer()).get(`/twilio/voice/${from}/status`).set('X-Request-Id', requestId).expect(403);

      const after = readLogCapture();
      const mine = after.slice(before.length);
      expect(mine).toContain(requestId);
      expect(appLines(mine, 'records')).toBeGreaterThan(0);
      expect(appLines(mine, 'gateway')).toBeGreaterThan(0);
      expect(findLeaks(mine, registeredSecrets())).toEqual([]);
    });
  });

  it('finds no number, code or note text in any line any app logged during the run', () => {
    const text = readLogCapture();
    const secrets = [
      ...registeredSecrets(),
      ...noteLiteralsIn(testSources()).map((value) => ({ kind: 'note', value })),
      { kind: 'note', value: 'caller spoke about' },
    ];
    const leaks = findLeaks(text, secrets);
    const lines = text.split('\n');
    const report = leaks.slice(0, 20).map((l) => `${l.kind} "${l.match}" in: ${lines[l.line - 1].slice(0, 300)}`);
    expect(report).toEqual([]);
  });
});
