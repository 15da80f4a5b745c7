import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { AddressInfo, Server, Socket, connect, createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse, stringify } from 'yaml';
import { accessTokenProblems } from '@hotline/twilio';
import { cli } from '../support/cli';
import { envFor } from '../support/env-for';
import { GatewayTestApp, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { TEST_SECRETS } from '../support/test-config';
import { TWILIO_SPEC_FILE, checkRestRequest } from '../support/twilio-contract';
import { TwilioPeer } from '../support/twilio-peer';
import { PeerApplication, PeerKey } from '../support/twilio-peer-account';

/**
 * `npm run cli -- twilio:check` against the local Twilio peer (the account, its numbers, TwiML app
 * and API key) and a real gateway behind PUBLIC_URL (a TCP forwarder stands for the reverse proxy:
 * the gateway checks signatures over PUBLIC_URL, so PUBLIC_URL must lead to it).
 */

/** The hotline number the routing file of this suite names (callers ring it; callbacks come from it). */
const HOTLINE = '+15550000123';
/** TWILIO_SMS_FROM of the test secrets; here also the privacy line's own number. */
const SMS_FROM = TEST_SECRETS.TWILIO_SMS_FROM;
/** Numbers that take no calls, enough to need a second page of Twilio's list (50 a page). */
const SPARE = Array.from({ length: 55 }, (_, i) => `+1555020${String(i).padStart(4, '0')}`);
const ANOTHER_TOKEN = 'another-auth-token-0123456789ab';
/** Twilio's secondary auth token during a rotation (docs/configuration.md: TWILIO_AUTH_TOKEN_SECONDARY). */
const SECONDARY = 'secondary-auth-token-abcdef987654';

jest.setTimeout(120_000);

/** A TCP pass-through whose target can change: PUBLIC_URL stays, the gateway behind it does not. */
class Forwarder {
  target = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((client) => {
    const upstream = connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Line = { level: string; check: string; message: string };

/** The text output's check lines (`level  check  message`), without the closing count line. */
function linesOf(out: string): Line[] {
  return out
    .split('\n')
    .map((l) => /^(ok|warn|FAIL|skip)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ level: m[1], check: m[2], message: m[3] }));
}

describe('npm run cli -- twilio:check', () => {
  let peer: TwilioPeer;
  let forwarder: Forwarder;
  let gateway: GatewayTestApp;
  let publicUrl: string;
  let app: PeerApplication;
  let key: PeerKey;
  let dir: string;
  let routingFile: string;

  beforeAll(async () => {
    peer = await startTwilioPeer();
    forwarder = await new Forwarder().start();
    publicUrl = forwarder.url;
    gateway = await startGatewayApp(envFor({ PUBLIC_URL: publicUrl }));
    forwarder.target = Number(new URL(gateway.base).port);
    // The shipped routing file with this suite's hotline number.
    dir = mkdtempSync(join(tmpdir(), 'hotline-twilio-check-'));
    const routing = parse(readFileSync(envFor().ROUTING_CONFIG, 'utf8'));
    routingFile = join(dir, 'routing.yaml');
    writeFileSync(routingFile, stringify({ ...routing, hotlineNumber: HOTLINE }));
  });

  afterAll(async () => {
    await gateway?.app.close();
    await forwarder?.stop();
    await peer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A correct set-up: the hotline number and the privacy line point at PUBLIC_URL, the app and key exist. */
  beforeEach(() => {
    peer.account.reset();
    for (const n of SPARE) peer.account.addNumber({ phoneNumber: n });
    peer.account.addNumber({
      phoneNumber: HOTLINE,
      voiceUrl: `${publicUrl}/twilio/voice/incoming`,
      statusCallback: `${publicUrl}/twilio/voice/status`,
    });
    peer.account.addNumber({ phoneNumber: SMS_FROM, voiceUrl: `${publicUrl}/twilio/voice/privacy` });
    app = peer.account.addApplication();
    key = peer.account.addKey();
  });

  /** The command as a deployer runs it, with this suite's settings (and `env` over them); no full number or secret printed. */
  async function check(
    env: Record<string, string> = {},
    args: string[] = [],
  ): Promise<{ code: number; out: string; lines: Line[]; asked: { method: string; path: string }[] }> {
    const r = await cli(['twilio:check', ...args], {
      PUBLIC_URL: publicUrl,
      TWILIO_API_URL: peer.url,
      ROUTING_CONFIG: routingFile,
      TWILIO_API_KEY_SID: key.sid,
      TWILIO_API_KEY_SECRET: key.secret,
      TWILIO_TWIML_APP_SID: app.sid,
      ...env,
    });
    for (const n of peer.account.numbers) {
      expect(r.out).not.toContain(n.phoneNumber);
      expect(r.out).not.toContain(n.phoneNumber.slice(2)); // the national digits
      expect(r.out).not.toContain(n.friendlyName); // Twilio's default: "(555) 000-0123"
    }
    for (const secret of [TEST_SECRETS.TWILIO_AUTH_TOKEN, ANOTHER_TOKEN, SECONDARY, key.secret]) expect(r.out).not.toContain(secret);
    expect(r.out).not.toMatch(/^\s+at /m); // no stack trace
    // What it asked of the peer is in Twilio's API description (path, method, form).
    const asked = peer.requests.splice(0);
    for (const q of asked)
      expect(checkRestRequest(q.method, q.path, new URLSearchParams(q.params), new URLSearchParams()).problems).toEqual([]);
    return { ...r, lines: linesOf(r.out), asked };
  }

  const only = (lines: Line[], check: string) => lines.filter((l) => l.check === check);

  it('a correct set-up: every check ok, exit 0', async () => {
    const { code, out, lines, asked } = await check();
    expect(code).toBe(0);
    expect(lines.length).toBeGreaterThanOrEqual(9);
    expect(lines.filter((l) => l.level !== 'ok')).toEqual([]);
    expect(out).toMatch(/twilio:check: 0 FAIL, 0 warn, \d+ ok\n$/);
    expect(only(lines, 'credentials')[0].message).toContain('TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN accepted by Twilio');
    // The hotline number is on the second page of Twilio's list: the check read every page.
    expect(only(lines, 'hotline-number')).toEqual([
      expect.objectContaining({ message: expect.stringContaining(`hotline number +…123 (${routingFile} hotlineNumber)`) }),
    ]);
    // Two pages of the list, and one page of one number read with the API key.
    expect(asked.filter((r) => r.method === 'GET' && r.path.endsWith('/IncomingPhoneNumbers.json'))).toHaveLength(3);
    expect(only(lines, 'privacy-line')[0].message).toContain(`privacy line +…111: calls come to ${publicUrl}/twilio/voice/privacy`);
    expect(only(lines, 'sms-from')[0].message).toContain('TWILIO_SMS_FROM +…111 is a number of this account');
    expect(only(lines, 'other-number')[0].message).toContain(`${SPARE.length} other number(s)`);
    expect(only(lines, 'twiml-app')[0].message).toContain('exists');
    expect(only(lines, 'api-key')[0].message).toContain('Twilio accepts TWILIO_API_KEY_SECRET');
    expect(only(lines, 'voice-token')[0].message).toContain('well-formed JWT');
    expect(only(lines, 'signature')[0].message).toContain('got 200, the same with a wrong signature 403');
  });

  it('--json: the same checks for machines', async () => {
    const { code, out } = await check({}, ['--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.ok).toBe(true);
    expect(report.counts).toEqual(expect.objectContaining({ FAIL: 0, warn: 0 }));
    expect(report.checks.map((c: Line) => c.check)).toEqual(
      expect.arrayContaining([
        'public-url',
        'credentials',
        'hotline-number',
        'privacy-line',
        'sms-from',
        'twiml-app',
        'api-key',
        'voice-token',
        'signature',
      ]),
    );
  });

  it('a wrong voice URL and no status callback on the hotline number: FAIL naming the expected URLs', async () => {
    const n = peer.account.number(HOTLINE)!;
    n.voiceUrl = 'https://old-host.example.org/twilio/voice/incoming?x=secret';
    n.statusCallback = null;
    const { code, lines } = await check();
    expect(code).toBe(1);
    const [line] = only(lines, 'hotline-number');
    expect(line.level).toBe('FAIL');
    expect(line.message).toContain(`"A call comes in" is https://old-host.example.org/twilio/voice/incoming?…`);
    expect(line.message).toContain(`expected ${publicUrl}/twilio/voice/incoming`);
    expect(line.message).toContain(`"Call status changes" is empty`);
    expect(line.message).toContain(`expected ${publicUrl}/twilio/voice/status`);
    expect(line.message).not.toContain('secret');
  });

  it('a hotline number that asks with GET, and one that is not on the account', async () => {
    peer.account.number(HOTLINE)!.voiceMethod = 'GET';
    let { code, lines } = await check();
    expect(code).toBe(1);
    expect(only(lines, 'hotline-number')[0]).toMatchObject({ level: 'FAIL', message: expect.stringContaining('expected HTTP POST') });

    peer.account.removeNumber(HOTLINE);
    ({ code, lines } = await check());
    expect(code).toBe(1);
    expect(only(lines, 'hotline-number')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining(`hotline number +…123 (${routingFile} hotlineNumber) is not a number of account`),
    });
  });

  it('numbers and the TwiML app pointing at another host are reported; a trial account warned of', async () => {
    peer.account.addNumber({ phoneNumber: '+15550009876', voiceUrl: 'https://demo.twilio.com/welcome/voice/' });
    app.voiceUrl = 'https://elsewhere.example.net/voice';
    peer.account.type = 'Trial';
    const { code, lines } = await check();
    expect(code).toBe(0);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warn',
          check: 'other-number',
          message: expect.stringContaining('number +…876 sends its calls to another host (demo.twilio.com/welcome/voice/)'),
        }),
        expect.objectContaining({
          level: 'warn',
          check: 'twiml-app',
          message: expect.stringContaining('another host (elsewhere.example.net)'),
        }),
        expect.objectContaining({ level: 'warn', check: 'credentials', message: expect.stringContaining('trial account') }),
      ]),
    );
  });

  it("a hotline number that uses a TwiML app is judged by the app's URLs; a SIP trunk number is reported", async () => {
    const viaApp = peer.account.addApplication({
      voiceUrl: `${publicUrl}/twilio/voice/incoming`,
      statusCallback: `${publicUrl}/twilio/voice/status`,
    });
    Object.assign(peer.account.number(HOTLINE)!, { voiceUrl: null, statusCallback: null, voiceApplicationSid: viaApp.sid });
    peer.account.addNumber({ phoneNumber: '+15550007654', trunkSid: 'TK' + '1'.repeat(32) });
    let { code, lines } = await check();
    expect(code).toBe(0);
    expect(only(lines, 'hotline-number')[0]).toMatchObject({
      level: 'ok',
      message: expect.stringContaining(`(through TwiML app AP…${viaApp.sid.slice(-4)})`),
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('number +…654 sends its calls to SIP trunk TK…1111') }),
    );

    viaApp.statusCallback = null;
    ({ code, lines } = await check());
    expect(code).toBe(1);
    expect(only(lines, 'hotline-number')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining(
        `"Call status changes" is empty (set in TwiML app AP…${viaApp.sid.slice(-4)}, which the number uses)`,
      ),
    });
  });

  it('a TwiML app and an API key the account does not have: FAIL', async () => {
    const { code, lines } = await check({ TWILIO_TWIML_APP_SID: 'AP' + 'f'.repeat(32), TWILIO_API_KEY_SID: 'SK' + 'e'.repeat(32) });
    expect(code).toBe(1);
    expect(only(lines, 'twiml-app')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('TwiML app AP…ffff (TWILIO_TWIML_APP_SID) does not exist'),
    });
    expect(only(lines, 'api-key')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('API key SK…eeee (TWILIO_API_KEY_SID) does not exist'),
    });
    expect(only(lines, 'voice-token')[0].level).toBe('skip');
  });

  it('the TwiML app and the API key not set: FAIL naming the variables, no stack trace', async () => {
    const { code, lines } = await check({ TWILIO_TWIML_APP_SID: '', TWILIO_API_KEY_SID: '', TWILIO_API_KEY_SECRET: '' });
    expect(code).toBe(1);
    expect(only(lines, 'twiml-app')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('TWILIO_TWIML_APP_SID is not set: browser audio cannot work'),
    });
    expect(only(lines, 'api-key')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET are not set: browser audio cannot work'),
    });
  });

  it('an API key secret Twilio does not accept, and an app SID in the key variable: FAIL', async () => {
    let { code, lines } = await check({ TWILIO_API_KEY_SECRET: 'not-the-secret-of-that-key' });
    expect(code).toBe(1);
    expect(only(lines, 'api-key')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('does not accept TWILIO_API_KEY_SECRET for it (401)'),
    });

    ({ code, lines } = await check({ TWILIO_API_KEY_SID: app.sid }));
    expect(code).toBe(1);
    expect(only(lines, 'api-key')[0]).toMatchObject({ level: 'FAIL', message: expect.stringContaining('it is a TwiML app SID') });
  });

  it('a wrong auth token: FAIL 401, and the gateway refuses what it signs', async () => {
    const { code, lines } = await check({ TWILIO_AUTH_TOKEN: 'wrong-token-0123456789abcdef' });
    expect(code).toBe(1);
    expect(only(lines, 'credentials')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN are not accepted by Twilio (401)'),
    });
    expect(only(lines, 'numbers')[0].level).toBe('skip');
    expect(only(lines, 'signature')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining('refused a request signed with TWILIO_AUTH_TOKEN (403)'),
    });
  });

  it('PUBLIC_URL that nothing answers: FAIL naming the error', async () => {
    const port = await closedPort();
    const { code, lines } = await check({ PUBLIC_URL: `http://127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(only(lines, 'signature')[0]).toMatchObject({
      level: 'FAIL',
      message: `PUBLIC_URL http://127.0.0.1:${port} did not answer: ECONNREFUSED`,
    });
    // The numbers point at the old PUBLIC_URL, which the check names.
    expect(only(lines, 'hotline-number')[0]).toMatchObject({
      level: 'FAIL',
      message: expect.stringContaining(`expected http://127.0.0.1:${port}/twilio/voice/incoming`),
    });
  });

  it('a gateway with another auth token behind PUBLIC_URL: the signature round trip FAILs', async () => {
    const other = await startGatewayApp(envFor({ PUBLIC_URL: publicUrl, TWILIO_AUTH_TOKEN: ANOTHER_TOKEN }));
    const before = forwarder.target;
    forwarder.target = Number(new URL(other.base).port);
    try {
      const { code, lines } = await check();
      expect(code).toBe(1);
      expect(lines.filter((l) => l.level === 'FAIL')).toEqual([
        expect.objectContaining({
          check: 'signature',
          message: expect.stringContaining(
            'the gateway at PUBLIC_URL refused a request signed with TWILIO_AUTH_TOKEN (403): the gateway holds another TWILIO_AUTH_TOKEN',
          ),
        }),
      ]);
    } finally {
      forwarder.target = before;
      await other.app.close();
    }
  });

  it('during an auth token rotation: TWILIO_AUTH_TOKEN_SECONDARY tried at Twilio and at the gateway', async () => {
    const rotating = await startGatewayApp(envFor({ PUBLIC_URL: publicUrl, TWILIO_AUTH_TOKEN_SECONDARY: SECONDARY }));
    const before = forwarder.target;
    forwarder.target = Number(new URL(rotating.base).port);
    try {
      // 1. Twilio has the secondary token, the gateway holds it.
      peer.account.secondaryAuthToken = SECONDARY;
      let { code, lines } = await check({ TWILIO_AUTH_TOKEN_SECONDARY: SECONDARY });
      expect(code).toBe(0);
      expect(only(lines, 'secondary-token')).toEqual([
        { level: 'ok', check: 'secondary-token', message: expect.stringContaining('the gateway accepts signatures made with it (200)') },
      ]);
      // After the promotion the old token is kept in the gateway a few minutes; Twilio no longer takes it.
      peer.account.secondaryAuthToken = undefined;
      ({ code, lines } = await check({ TWILIO_AUTH_TOKEN_SECONDARY: SECONDARY }));
      expect(code).toBe(0);
      expect(only(lines, 'secondary-token')).toEqual([
        {
          level: 'warn',
          check: 'secondary-token',
          message: expect.stringContaining('TWILIO_AUTH_TOKEN_SECONDARY is not accepted by Twilio (401)'),
        },
      ]);
      // A gateway that was not restarted with it refuses what it signs.
      forwarder.target = before;
      peer.account.secondaryAuthToken = SECONDARY;
      ({ code, lines } = await check({ TWILIO_AUTH_TOKEN_SECONDARY: SECONDARY }));
      expect(code).toBe(1);
      expect(only(lines, 'secondary-token')).toEqual([
        expect.objectContaining({
          level: 'FAIL',
          message: expect.stringContaining('refused a request signed with TWILIO_AUTH_TOKEN_SECONDARY (403)'),
        }),
      ]);
    } finally {
      forwarder.target = before;
      await rotating.app.close();
    }
  });

  it('something at PUBLIC_URL that does not check signatures is not taken for the gateway', async () => {
    const { createServer: createHttpServer } = await import('http');
    const fake = createHttpServer((_req, res) => res.end('<Response/>'));
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    const before = forwarder.target;
    forwarder.target = (fake.address() as AddressInfo).port;
    try {
      const { code, lines } = await check();
      expect(code).toBe(1);
      expect(only(lines, 'signature')[0]).toMatchObject({
        level: 'FAIL',
        message: expect.stringContaining('accepted a request with a wrong signature (200)'),
      });
    } finally {
      forwarder.target = before;
      fake.closeAllConnections();
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });
});

describe('the peer account', () => {
  const AC = TEST_SECRETS.TWILIO_ACCOUNT_SID;
  const schemas = JSON.parse(readFileSync(TWILIO_SPEC_FILE, 'utf8')).components.schemas;
  const fields = (name: string) => Object.keys(schemas[name].properties).sort();

  it("answers with Twilio's resources: every field of the API description, lists paged as Twilio pages", () => {
    const peer = new TwilioPeer(AC, TEST_SECRETS.TWILIO_AUTH_TOKEN);
    const n = peer.account.addNumber({ phoneNumber: '+15550003333' });
    const a = peer.account.addApplication();
    const k = peer.account.addKey();
    const get = (path: string, query = '') =>
      peer.account.rest('GET', `/2010-04-01/Accounts/${AC}${path}.json`, {}, new URLSearchParams(query))!;
    const body = (path: string, query = '') => get(path, query).body as Record<string, any>;
    expect(Object.keys(body('')).sort()).toEqual(fields('api.v2010.account'));
    expect(Object.keys(body(`/IncomingPhoneNumbers/${n.sid}`)).sort()).toEqual(fields('api.v2010.account.incoming_phone_number'));
    expect(Object.keys(body(`/Applications/${a.sid}`)).sort()).toEqual(fields('api.v2010.account.application'));
    expect(Object.keys(body(`/Keys/${k.sid}`)).sort()).toEqual(fields('api.v2010.account.key'));
    expect(body(`/Keys/${k.sid}`)).not.toHaveProperty('secret');
    expect(get('/Keys/SK' + '0'.repeat(32))).toMatchObject({ status: 404, body: { code: 20404 } });
    expect(body(`/IncomingPhoneNumbers/${n.sid}`)).toMatchObject({
      friendly_name: '(555) 000-3333',
      voice_url: null,
      voice_method: 'POST',
    });

    for (let i = 0; i < 4; i++) peer.account.addNumber({ phoneNumber: `+1555000400${i}` });
    const first = body('/IncomingPhoneNumbers', 'PageSize=2');
    expect(Object.keys(first).sort()).toEqual(
      ['end', 'first_page_uri', 'incoming_phone_numbers', 'next_page_uri', 'page', 'page_size', 'previous_page_uri', 'start', 'uri'].sort(),
    );
    expect(first).toMatchObject({ page: 0, page_size: 2, start: 0, end: 1, previous_page_uri: null });
    const next = new URL(first.next_page_uri, 'https://api.twilio.com');
    const last = body('/IncomingPhoneNumbers', next.search.slice(1));
    expect(last).toMatchObject({ page: 1, start: 2, end: 3 });
    const end = body('/IncomingPhoneNumbers', new URL(last.next_page_uri, 'https://api.twilio.com').search.slice(1));
    expect(end).toMatchObject({ page: 2, start: 4, end: 4, next_page_uri: null });
    expect(body('/IncomingPhoneNumbers', 'PhoneNumber=4002').incoming_phone_numbers.map((x: any) => x.phone_number)).toEqual([
      '+15550004002',
    ]);
  });
});

describe('accessTokenProblems', () => {
  const s = {
    keySid: 'SK' + 'a'.repeat(32),
    keySecret: 'secret-of-the-key',
    accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
    appSid: 'AP' + 'b'.repeat(32),
  };
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const { createHmac } = require('crypto') as typeof import('crypto');
  const sign = (h: string, p: string, secret = s.keySecret) => createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  const header = b64({ typ: 'JWT', alg: 'HS256', cty: 'twilio-fpa;v=1' });
  const payload = (over: Record<string, unknown> = {}) =>
    b64({
      jti: `${s.keySid}-1`,
      iss: s.keySid,
      sub: s.accountSid,
      exp: Math.floor(Date.now() / 1000) + 60,
      grants: { identity: 'op', voice: { incoming: { allow: true }, outgoing: { application_sid: s.appSid } } },
      ...over,
    });

  it('none for a token as Twilio expects it; each difference named', () => {
    const p = payload();
    expect(accessTokenProblems(`${header}.${p}.${sign(header, p)}`, s)).toEqual([]);
    expect(accessTokenProblems(`${header}.${p}.${sign(header, p, 'another-secret')}`, s)).toEqual([
      'its signature is not made with TWILIO_API_KEY_SECRET',
    ]);
    const q = payload({ iss: 'SK' + 'c'.repeat(32), exp: 1 });
    expect(accessTokenProblems(`${header}.${q}.${sign(header, q)}`, s)).toEqual([
      'iss is not TWILIO_API_KEY_SID',
      'it has expired or has no exp',
    ]);
    expect(accessTokenProblems('not-a-jwt', s)).toEqual(['it is not a JWT (three dot-separated parts)']);
  });
});
