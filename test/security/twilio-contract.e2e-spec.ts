import { createHash } from 'crypto';
import { IncomingMessage, Server, createServer } from 'http';
import { AddressInfo } from 'net';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TwilioConferences, TwilioService, createTwilioClient } from '@hotline/twilio';
import { TEST_SECRETS } from '../support/test-config';
import {
  TWILIO_SPEC_FILE,
  checkRestRequest,
  checkWebhookParams,
  describeTwilioContractRun,
  kindParams,
  readTwilioContractRun,
  recordRestCheck,
  recordWebhookCheck,
  resetTwilioContractRun,
  webhookFixture,
} from '../support/twilio-contract';

/**
 * The Twilio contract validator itself (test/support/twilio-contract.ts): REST requests made by the
 * real twilio library, and by Hotline's own Twilio port, pass Twilio's OpenAPI description; wrong
 * ones fail naming the parameter (never a number); the webhook fixture is whole. No services needed.
 * Nothing here is recorded in the run's file (the record functions are tried on a file of their own).
 */
const AC = TEST_SECRETS.TWILIO_ACCOUNT_SID;
const CA = 'CA' + 'ab'.repeat(16);
const CF = 'CF' + 'cd'.repeat(16);
const RE = 'RE' + 'ef'.repeat(16);
const SM = 'SM' + '12'.repeat(16);
const NUMBER = '+15550001234';
const form = (s = '') => new URLSearchParams(s);

interface Seen {
  method: string;
  path: string;
  body: string;
  query: URLSearchParams;
}

/** A throwaway HTTP server that answers like Twilio enough for the library to be content, and keeps what it was sent. */
async function startRecorder(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const server = createServer(async (req, res) => {
    const body = await read(req);
    const url = new URL(req.url ?? '/', 'http://recorder');
    seen.push({ method: req.method ?? 'GET', path: url.pathname, body, query: url.searchParams });
    if (req.method === 'DELETE') {
      res.statusCode = 204;
      return void res.end();
    }
    res.setHeader('Content-Type', 'application/json');
    if (req.method === 'GET' && /\/Calls\.json$/.test(url.pathname)) {
      return void res.end(
        JSON.stringify({ calls: [], first_page_uri: url.pathname, next_page_uri: null, page: 0, page_size: 50, uri: url.pathname }),
      );
    }
    res.statusCode = req.method === 'POST' && /(Participants|Calls|Messages)\.json$/.test(url.pathname) ? 201 : 200;
    res.end(JSON.stringify({ sid: CA, call_sid: CA, conference_sid: CF, account_sid: AC, from: NUMBER, to: NUMBER, status: 'queued' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const check = (s: Seen) => checkRestRequest(s.method, s.path, form(s.method === 'GET' ? '' : s.body), s.query);

describe('Twilio contract: REST requests against Twilio OpenAPI description', () => {
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  const env = () =>
    ({
      TWILIO_ACCOUNT_SID: AC,
      TWILIO_AUTH_TOKEN: TEST_SECRETS.TWILIO_AUTH_TOKEN,
      TWILIO_API_URL: recorder.url,
      TWILIO_SMS_FROM: TEST_SECRETS.TWILIO_SMS_FROM,
    }) as any;

  beforeAll(async () => (recorder = await startRecorder()));
  afterAll(() => new Promise<void>((r) => recorder.server.close(() => r())));
  beforeEach(() => recorder.seen.splice(0));

  it('is the vendored file its README names', () => {
    const sha = createHash('sha256').update(readFileSync(TWILIO_SPEC_FILE)).digest('hex');
    expect(readFileSync(join(TWILIO_SPEC_FILE, '..', 'README.md'), 'utf8')).toContain(sha);
  });

  it('passes a participant created by the twilio library, arrays as repeated keys', async () => {
    const client = createTwilioClient({ accountSid: AC, authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN, apiUrl: recorder.url });
    await client.conferences('call-0f3c').participants.create({
      from: TEST_SECRETS.TWILIO_SMS_FROM,
      to: 'client:op-1',
      label: 'op:1',
      statusCallback: 'https://hotline.example.test/twilio/conference/leg?c=1',
      statusCallbackMethod: 'POST',
      statusCallbackEvent: ['answered', 'completed'],
      conferenceStatusCallback: 'https://hotline.example.test/twilio/conference/status?c=1',
      conferenceStatusCallbackEvent: ['start', 'end', 'join', 'leave'],
      timeout: 20,
      earlyMedia: false,
      beep: 'false',
    });
    const [s] = recorder.seen;
    expect(s.body).toContain('StatusCallbackEvent=answered&StatusCallbackEvent=completed');
    expect(check(s)).toEqual({
      operation: 'POST /2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json',
      problems: [],
    });
  });

  it('passes a call update with TwiML and a GET list by ParentCallSid, as the library sends them', async () => {
    const client = createTwilioClient({ accountSid: AC, authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN, apiUrl: recorder.url });
    await client.calls(CA).update({ twiml: '<Response><Dial><Client>op-1</Client></Dial></Response>' });
    await client.calls.list({ parentCallSid: CA, limit: 100 });
    expect(recorder.seen.map(check)).toEqual([
      { operation: 'POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json', problems: [] },
      { operation: 'GET /2010-04-01/Accounts/{AccountSid}/Calls.json', problems: [] },
    ]);
    expect(recorder.seen[1].query.get('ParentCallSid')).toBe(CA);
  });

  it("passes every REST call of Hotline's own Twilio port (libs/twilio)", async () => {
    const twilio = new TwilioService(env());
    const conferences = new TwilioConferences(env());
    await conferences.addParticipant('0f3c5a3e-0000-4000-8000-000000000001', {
      to: 'client:op-1',
      from: TEST_SECRETS.TWILIO_SMS_FROM,
      label: 'op:1',
      statusCallback: 'https://hotline.example.test/twilio/conference/leg?c=1&r=op&i=1',
      statusCallbackEvent: ['answered', 'completed'],
      conferenceStatusCallback: 'https://hotline.example.test/twilio/conference/status?c=1',
      conferenceStatusCallbackEvent: ['start', 'end', 'join', 'leave', 'mute', 'hold', 'modify'],
      conferenceRecord: true,
      conferenceRecordingStatusCallback: 'https://hotline.example.test/twilio/conference/recording?c=1',
      coaching: true,
      callSidToCoach: CA,
    });
    await conferences.updateParticipant(CF, CA, { hold: true, holdUrl: 'https://hotline.example.test/twilio/conference/hold-music' });
    await conferences.updateParticipant(CF, CA, { muted: false, coaching: false });
    await conferences.removeParticipant(CF, CA);
    await conferences.endConference(CF);
    await twilio.updateCall(CA, '<Response><Hangup/></Response>');
    await twilio.caller(CA);
    await twilio.childCallSids(CA);
    await twilio.deleteCall(CA);
    await twilio.deleteRecording(RE);
    await twilio.sendSms(NUMBER, 'a message', 'https://hotline.example.test/twilio/sms/status');
    await twilio.deleteMessage(SM);
    await twilio.placeCall({
      to: NUMBER,
      from: TEST_SECRETS.TWILIO_SMS_FROM,
      url: 'https://hotline.example.test/twilio/voice/callback/answered?o=1&a=2',
      statusCallback: 'https://hotline.example.test/twilio/voice/callback/status?a=2',
    });
    const checks = recorder.seen.map(check);
    expect(checks.flatMap((c) => c.problems)).toEqual([]);
    expect(checks.map((c) => c.operation)).toEqual([
      'POST /2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json',
      'POST /2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json',
      'POST /2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json',
      'DELETE /2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json',
      'POST /2010-04-01/Accounts/{AccountSid}/Conferences/{Sid}.json',
      'POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json',
      'GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json',
      'GET /2010-04-01/Accounts/{AccountSid}/Calls.json',
      'DELETE /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json',
      'DELETE /2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.json',
      'POST /2010-04-01/Accounts/{AccountSid}/Messages.json',
      'DELETE /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json',
      'POST /2010-04-01/Accounts/{AccountSid}/Calls.json',
    ]);
  });

  const CALL = `/2010-04-01/Accounts/${AC}/Calls/${CA}.json`;
  const PARTICIPANTS = `/2010-04-01/Accounts/${AC}/Conferences/${CF}/Participants.json`;

  it('fails an unknown parameter, naming it and not its value', () => {
    const r = checkRestRequest('POST', CALL, form(`Twiml=%3CResponse%2F%3E&CallerNumber=${encodeURIComponent(NUMBER)}`), form());
    expect(r.operation).toBe('POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json');
    expect(r.problems).toEqual([
      'POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json: form parameter CallerNumber is not a parameter of this operation',
    ]);
    expect(checkRestRequest('GET', CALL, form(), form('Fields=all')).problems).toEqual([
      'GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json: query parameter Fields is not a parameter of this operation',
    ]);
  });

  it('fails a value outside an enum, through $ref (call_enum_update_status) and in array items', () => {
    expect(checkRestRequest('POST', CALL, form('Status=hungup'), form()).problems).toEqual([
      'POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json: form parameter Status: value not allowed ("hungup"); allowed: canceled, completed',
    ]);
    expect(checkRestRequest('GET', `/2010-04-01/Accounts/${AC}/Calls.json`, form(), form('Status=answered')).problems).toHaveLength(1);
    const body = `From=${encodeURIComponent(NUMBER)}&To=client%3Aop&StatusCallbackEvent=answered&StatusCallbackEvent=picked-up&ConferenceStatusCallbackEvent=start%20finish`;
    expect(checkRestRequest('POST', PARTICIPANTS, form(body), form()).problems).toEqual([
      expect.stringContaining(
        'form parameter StatusCallbackEvent: value not allowed ("picked-up"); allowed: initiated, ringing, answered, completed',
      ),
      expect.stringContaining('form parameter ConferenceStatusCallbackEvent: value not allowed ("finish")'),
    ]);
  });

  it('fails booleans that are not true/false and integers that are not integers', () => {
    const body = `From=a&To=b&Muted=1&Timeout=20s&EarlyMedia=False`;
    expect(checkRestRequest('POST', PARTICIPANTS, form(body), form()).problems).toEqual([
      expect.stringContaining('form parameter Muted: not a boolean (true or false) ("1")'),
      expect.stringContaining('form parameter Timeout: not an integer ("20s")'),
      expect.stringContaining('form parameter EarlyMedia: not a boolean (true or false) ("False")'),
    ]);
  });

  it('fails a missing required parameter, and never quotes a number', () => {
    const r = checkRestRequest(
      'POST',
      `/2010-04-01/Accounts/${AC}/Messages.json`,
      form(`From=${encodeURIComponent(NUMBER)}&From=${encodeURIComponent(NUMBER)}&Body=hi`),
      form(),
    );
    expect(r.problems).toEqual([
      'POST /2010-04-01/Accounts/{AccountSid}/Messages.json: form parameter From sent 2 times (not an array)',
      'POST /2010-04-01/Accounts/{AccountSid}/Messages.json: form parameter To is required and missing',
    ]);
    expect(JSON.stringify(r)).not.toContain('0001234');
  });

  it('fails an unknown path, a method the path does not have, and a path parameter off its pattern', () => {
    expect(checkRestRequest('GET', `/2010-04-01/Accounts/${AC}/Callz/${CA}.json`, form(), form())).toEqual({
      operation: null,
      problems: ["GET /2010-04-01/Accounts/AC.../Callz/CA....json: no path of Twilio's 2010-04-01 API matches"],
    });
    expect(checkRestRequest('GET', `/v1/Services/${NUMBER}`, form(), form()).problems[0]).not.toContain('0001234');
    expect(checkRestRequest('PUT', CALL, form(), form()).operation).toBeNull();
    expect(checkRestRequest('DELETE', `/2010-04-01/Accounts/${AC}/Recordings/${CA}.json`, form(), form()).problems).toEqual([
      'DELETE /2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.json: path parameter Sid does not match ^RE[0-9a-fA-F]{32}$',
    ]);
    expect(checkRestRequest('GET', `/2010-04-01/Accounts/AC123/Calls.json`, form(), form()).problems).toEqual([
      'GET /2010-04-01/Accounts/{AccountSid}/Calls.json: path parameter AccountSid does not match ^AC[0-9a-fA-F]{32}$',
    ]);
  });

  it('passes a GET list with ParentCallSid and paging, and a conference named rather than by SID', () => {
    expect(
      checkRestRequest('GET', `/2010-04-01/Accounts/${AC}/Calls.json`, form(), form(`ParentCallSid=${CA}&PageSize=100`)).problems,
    ).toEqual([]);
    expect(checkRestRequest('GET', `/2010-04-01/Accounts/${AC}/Calls.json`, form(), form('ParentCallSid=CA12')).problems).toHaveLength(1);
    const named = `/2010-04-01/Accounts/${AC}/Conferences/0f3c5a3e-0000-4000-8000-000000000001/Participants.json`;
    expect(checkRestRequest('POST', named, form('From=a&To=b'), form()).problems).toEqual([]);
  });
});

describe('Twilio contract: webhook parameters against Twilio documentation', () => {
  it('has a documented kind for every route, and a page of Twilio for every parameter', () => {
    const f = webhookFixture();
    for (const [route, kinds] of Object.entries(f.routes)) {
      expect(route).toMatch(/^\/twilio\//);
      expect(kinds.length).toBeGreaterThan(0);
      for (const k of kinds) expect(f.kinds[k]).toBeDefined();
    }
    for (const [name, kind] of Object.entries(f.kinds)) {
      for (const parent of [kind.extends ?? []].flat()) expect(f.kinds[parent]).toBeDefined();
      for (const doc of [kind.doc, ...Object.values(kind.params)].flat())
        expect(`${name} ${doc}`).toMatch(/^\S+ https:\/\/www\.twilio\.com\//);
      for (const p of Object.keys(kind.values ?? {})) expect(kindParams(name).has(p)).toBe(true);
    }
  });

  it('passes what Twilio documents for the route and fails anything else, naming it', () => {
    expect(
      checkWebhookParams('/twilio/voice/consent?c=1&t=2', { CallSid: CA, AccountSid: AC, From: NUMBER, Digits: '1', FinishedOnKey: '' }),
    ).toEqual([]);
    expect(
      checkWebhookParams('https://hotline.example.test/twilio/voice/overflow/left?c=1', {
        CallSid: CA,
        QueueResult: 'leave',
        QueueTime: '3',
      }),
    ).toEqual([]);
    expect(checkWebhookParams('/twilio/recording/status', { CallSid: CA, RecordingSid: RE, From: NUMBER })).toEqual([
      '/twilio/recording/status: From is not a parameter Twilio documents for recording-status',
    ]);
    expect(checkWebhookParams('/twilio/voice/dialled', { DialCallStatus: 'picked-up', From: NUMBER })).toEqual([
      expect.stringContaining('/twilio/voice/dialled: DialCallStatus: value not allowed ("picked-up")'),
    ]);
    expect(checkWebhookParams('/twilio/voice/nowhere', {})).toEqual([
      '/twilio/voice/nowhere: not a route of twilio-webhooks.json (which kind of Twilio request is it?)',
    ]);
  });

  it('takes a route reached by two kinds as either (hold music: conference waitUrl, participant HoldUrl, its own Redirect)', () => {
    expect(checkWebhookParams('/twilio/conference/hold-music', { CallSid: CA, From: NUMBER, QueueSid: 'QU1' })).toEqual([
      '/twilio/conference/hold-music: QueueSid is not a parameter Twilio documents for conference-wait-url or participant-hold-url or redirect',
    ]);
  });
});

describe("Twilio contract: the run's record", () => {
  let dir: string;
  const before = process.env.TWILIO_CONTRACT_FILE;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'twilio-contract-'));
    process.env.TWILIO_CONTRACT_FILE = join(dir, 'run.jsonl');
  });
  afterAll(() => {
    if (before === undefined) delete process.env.TWILIO_CONTRACT_FILE;
    else process.env.TWILIO_CONTRACT_FILE = before;
    rmSync(dir, { recursive: true, force: true });
  });

  it('says so when nothing was checked, and counts distinct operations, deliveries and problems', () => {
    resetTwilioContractRun();
    expect(describeTwilioContractRun(readTwilioContractRun())).toMatch(/checked nothing/);
    const CALL = `/2010-04-01/Accounts/${AC}/Calls/${CA}.json`;
    recordRestCheck(checkRestRequest('POST', CALL, form('Twiml=x'), form()));
    recordRestCheck(checkRestRequest('POST', CALL, form('Twiml=x'), form()));
    recordRestCheck(checkRestRequest('DELETE', CALL, form(), form()));
    recordRestCheck(checkRestRequest('POST', CALL, form('Bogus=1'), form()));
    recordWebhookCheck(
      'https://h.example.test/twilio/voice/status?x=1',
      checkWebhookParams('/twilio/voice/status', { CallSid: CA, Duration: '1' }),
    );
    const run = readTwilioContractRun();
    expect(run).toMatchObject({
      restChecks: 4,
      operations: {
        'POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json': 3,
        'DELETE /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json': 1,
      },
      webhookChecks: 1,
      routes: { '/twilio/voice/status': 1 },
    });
    expect(run.problems.map((p) => p.problem)).toEqual([
      'REST POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json: form parameter Bogus is not a parameter of this operation',
      'webhook /twilio/voice/status: Duration is not a parameter Twilio documents for call-status',
    ]);
    expect(describeTwilioContractRun(run)).toMatch(
      /^Twilio contract: 2 distinct REST operations checked \(4 requests\), 1 webhook deliveries checked \(1 routes\), 2 problems/,
    );
  });
});
