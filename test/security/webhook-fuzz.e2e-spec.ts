import { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { Env } from '@hotline/config';
import { RoutingStore } from '@hotline/routing';
import { openTestDataSources } from '../support/db';
import { envFor } from '../support/env-for';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer, randomSid, signTwilioRequest } from '../support/twilio-peer';
import { oddText, pct } from './support/fuzz';
import { fuzzSeed } from './support/openapi-check';
import { routeTable } from './support/routes';
import { recordsFingerprint } from './support/state';
import { startGatewayApp, startTwilioPeer, testRoutingStore } from '../support/gateway-app';

/**
 * Every `/twilio/*` path the gateway serves (read from its route table), fuzzed as the internet
 * would: without a valid signature, whatever the parameters, size or encoding, the answer is 403
 * (or 400/413/415 when the body cannot even be read) and nothing changes in Redis or MySQL; with a
 * valid signature (Twilio sending something odd), never a 5xx, and TwiML that is well formed and
 * carries none of the markup it was sent, made only of TwiML's own verbs, and side effects
 * bounded to one call (no row removed, no staff, hold or co-signature touched, at most one call
 * opened, at most one SMS). The seed is random per run, printed at the start with the command that
 * replays it (FUZZ_SEED=<n>).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const { seed: SEED, replay: REPLAY } = fuzzSeed('test/security/webhook-fuzz.e2e-spec.ts');
process.stderr.write(`webhook fuzzing: seed ${SEED}; to replay this run: ${REPLAY}\n`);
/** The elements TwiML has (verbs and nouns): an answer made of anything else is not TwiML. */
const TWIML_ELEMENTS = new Set([
  'Response',
  'Say',
  'Play',
  'Pause',
  'Gather',
  'Enqueue',
  'Leave',
  'Hangup',
  'Redirect',
  'Reject',
  'Dial',
  'Client',
  'Number',
  'Queue',
  'Record',
  'Sms',
  'Message',
  'Identity',
  'Parameter',
]);
const PUBLIC_URL = 'https://hotline.example.test';
const TWILIO_KEYS = [
  'CallSid',
  'AccountSid',
  'From',
  'To',
  'Caller',
  'Called',
  'CallStatus',
  'Direction',
  'Digits',
  'SequenceNumber',
  'RecordingSid',
  'RecordingStatus',
  'RecordingUrl',
  'QueueResult',
  'QueueTime',
  'MessageSid',
  'MessageStatus',
  'SpeechResult',
];
const INJECTED = '<Injected/>';

interface Sent {
  status: number;
  type: string;
  text: string;
}

describe('Twilio webhook fuzzing', () => {
  let app: INestApplication;
  let env: Env;
  let peer: TwilioPeer;
  let base: string;
  let redis: Redis;
  let db: DataSource;
  let closeDb: () => Promise<void>;
  let paths: string[];
  let store: RoutingStore;

  beforeAll(async () => {
    peer = await startTwilioPeer();
    env = envFor({ TWILIO_API_URL: peer.url, PUBLIC_URL });
    redis = new Redis(env.REDIS_URL);
    store = testRoutingStore(redis);
    await store.clear();
    ({ app, base } = await startGatewayApp(env));
    ({ db, close: closeDb } = await openTestDataSources());
    paths = [
      ...new Set(
        routeTable(app)
          .filter((r) => r.path.startsWith('/twilio/'))
          .map((r) => r.path),
      ),
    ];
  });

  afterAll(async () => {
    await app?.close();
    await store?.clear();
    await redis?.quit();
    await closeDb?.();
    await peer?.stop();
  });

  async function routingKeys(): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'hl:\\{rt\\}:*', 'COUNT', 500);
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  }
  const state = async () =>
    JSON.stringify({
      routing: await routingKeys(),
      records: await recordsFingerprint(db),
      sms: peer.messages.length,
      updates: peer.callUpdates.length,
    });

  /**
   * What one signed webhook may change: the rows of one call (at most one call opened; a status or
   * a recording callback adds its event or recording), never a removed row, never staff, holds or
   * co-signatures; at most one SMS and one update of a call at Twilio.
   */
  function sideEffects(
    before: { records: Record<string, unknown>; sms: number; updates: number },
    after: { records: Record<string, unknown>; sms: number; updates: number },
  ): string[] {
    const problems: string[] = [];
    for (const k of Object.keys(after.records)) {
      const delta = Number(after.records[k] ?? 0) - Number(before.records[k] ?? 0);
      if (k.startsWith('rows:')) {
        if (delta < 0) problems.push(`${k.slice(5)}: ${delta} rows (a webhook removed rows)`);
        if (k === 'rows:calls' && delta > 1) problems.push(`calls: +${delta} rows (more than one call opened)`);
        if (k === 'rows:staff' && delta) problems.push(`staff: ${delta} rows`);
      } else if (['holdsInForce', 'cosigned', 'staffDigest'].includes(k) && after.records[k] !== before.records[k])
        problems.push(`${k} changed (${before.records[k]} → ${after.records[k]})`);
    }
    if (after.sms - before.sms > 1) problems.push(`${after.sms - before.sms} SMS sent`);
    if (after.updates - before.updates > 1) problems.push(`${after.updates - before.updates} updates of calls at Twilio`);
    return problems;
  }

  async function post(pathAndQuery: string, body: string | Buffer, headers: Record<string, string>): Promise<Sent> {
    const res = await fetch(base + pathAndQuery, { method: 'POST', headers, body });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }

  const paramValue = fc.oneof(
    { arbitrary: fc.string({ maxLength: 30 }), weight: 3 },
    { arbitrary: oddText, weight: 2 },
    {
      arbitrary: fc.constantFrom(
        randomSid('CA'),
        randomSid('RE'),
        '+15555550134',
        'anonymous',
        '',
        '1',
        '9',
        '#',
        '-1',
        '99999999999999999999',
        'completed',
        'in-progress',
        INJECTED,
        `"]]><Dial>+15555550000</Dial>`,
      ),
      weight: 2,
    },
    { arbitrary: fc.nat(2000).map((n) => 'x'.repeat(n)), weight: 1 },
  );
  const params = fc.dictionary(fc.oneof(fc.constantFrom(...TWILIO_KEYS), fc.string({ minLength: 1, maxLength: 12 })), paramValue, {
    maxKeys: 8,
  });
  const query = fc.oneof(
    fc.constant(''),
    fc
      .dictionary(
        fc.constantFrom('c', 't', 'q', 'r', 'n', 's', 'step'),
        fc.oneof(fc.string({ maxLength: 40 }), fc.uuid(), fc.constantFrom('1', '0', '9999999999999', '-1', INJECTED)),
      )
      .map((q) => {
        const s = Object.entries(q)
          .map(([k, v]) => `${k}=${pct(v)}`)
          .join('&');
        return s ? `?${s}` : '';
      }),
  );

  /** A body as the internet might send one: form, JSON, too big, too many fields, undecodable. */
  const body = fc.oneof(
    {
      arbitrary: params.map((p) => ({
        type: 'application/x-www-form-urlencoded',
        body: new URLSearchParams(p).toString() as string | Buffer,
        extra: {} as Record<string, string>,
        params: p,
      })),
      weight: 6,
    },
    {
      arbitrary: params.map((p) => ({ type: 'application/json', body: JSON.stringify(p) as string | Buffer, extra: {}, params: p })),
      weight: 1,
    },
    {
      arbitrary: fc.constantFrom(40_000, 200_000).map((n) => ({
        type: 'application/x-www-form-urlencoded',
        body: `From=%2B15555550134&Body=${'A'.repeat(n)}` as string | Buffer,
        extra: {},
        params: null,
      })),
      weight: 1,
    },
    {
      arbitrary: fc.constant({
        type: 'application/x-www-form-urlencoded',
        body: Array.from({ length: 1500 }, (_, i) => `p${i}=${i}`).join('&') as string | Buffer,
        extra: {},
        params: null,
      }),
      weight: 1,
    },
    {
      arbitrary: fc
        .constantFrom('%ZZ=%E0%A4%A', 'From=%', '&&&==&', 'a=%00%ff%fe', '\u0000\u0001', 'From=+15555550134&From=+15555550135')
        .map((b) => ({ type: 'application/x-www-form-urlencoded', body: b as string | Buffer, extra: {}, params: null })),
      weight: 2,
    },
    {
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 200 })
        .map((b) => ({ type: 'application/x-www-form-urlencoded', body: Buffer.from(b) as string | Buffer, extra: {}, params: null })),
      weight: 1,
    },
    {
      arbitrary: fc
        .constantFrom(
          { type: 'application/x-www-form-urlencoded; charset=utf-16', extra: {} },
          { type: 'application/x-www-form-urlencoded', extra: { 'content-encoding': 'gzip' } },
          { type: 'application/x-www-form-urlencoded', extra: { 'content-encoding': 'br' } },
          { type: 'text/xml', extra: {} },
          { type: 'multipart/form-data; boundary=zzz', extra: {} },
          { type: 'application/json', extra: {} },
        )
        .map((t) => ({ ...t, body: 'CallSid=CA123&From=%2B15555550134' as string | Buffer, params: null })),
      weight: 1,
    },
  );

  it('serves the contract’s webhook paths (and fuzzes whatever else is under /twilio)', () => {
    expect(paths).toEqual(
      expect.arrayContaining([
        '/twilio/voice/incoming',
        '/twilio/voice/privacy',
        '/twilio/voice/status',
        '/twilio/recording/status',
        '/twilio/conference/status',
        '/twilio/conference/leg',
        '/twilio/conference/recording',
        '/twilio/conference/hold-music',
      ]),
    );
  });

  // Found by the fuzzer: body-parser's error for a body that does not decompress carries a 4xx
  // status but no `type`, and the exception filter turned it into a 500.
  it('answers a body that claims a compression it does not have with a 4xx, on every path', async () => {
    for (const path of paths) {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const res = await post(path, 'CallSid=CA123&From=%2B15555550134', {
          'content-type': 'application/x-www-form-urlencoded',
          'content-encoding': encoding,
        });
        expect([path, encoding, res.status >= 400 && res.status < 500]).toEqual([path, encoding, true]);
      }
    }
  });

  it('refuses any request without a valid signature with 403 (or 400/413/415 for an unreadable body), and changes nothing', async () => {
    const badSignature = fc.oneof(
      fc.constant(null),
      fc.constant(''),
      fc.base64String({ minLength: 4, maxLength: 44 }),
      fc.constant('x'.repeat(8000)),
      fc.constantFrom('for another path', 'for another token', 'for http', 'for other params', 'for the path without query'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), query, body, badSignature, async (path, q, b, sig) => {
        const before = await state();
        const headers: Record<string, string> = { 'content-type': b.type, ...(b.extra as Record<string, string>) };
        const p = (b.params ?? {}) as Record<string, string>;
        const url = PUBLIC_URL + path + q;
        const signature =
          sig === 'for another path'
            ? signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL + '/twilio/voice/other' + q, p)
            : sig === 'for another token'
              ? signTwilioRequest('another-account-token-00000000', url, p)
              : sig === 'for http'
                ? signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, url.replace('https:', 'http:'), p)
                : sig === 'for other params'
                  ? signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, url, { ...p, Digits: '1', From: '+15555550999' })
                  : sig === 'for the path without query' && q
                    ? signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL + path, p)
                    : sig === 'for the path without query'
                      ? null
                      : sig;
        if (signature !== null) headers['x-twilio-signature'] = signature;
        const res = await post(path + q, b.body, headers);
        if (![400, 403, 413, 415].includes(res.status))
          throw new Error(`${path}${q} without a valid signature answered ${res.status}: ${res.text.slice(0, 200)}`);
        if (res.status === 403 && res.text !== 'Forbidden') throw new Error(`403 says more than Forbidden: ${res.text.slice(0, 200)}`);
        const after = await state();
        if (after !== before) throw new Error(`${path} refused with ${res.status} but something changed: ${before} → ${after}`);
      }),
      { numRuns: RUNS * 2, seed: SEED, endOnFailure: true },
    );
  }, 60_000);

  it('answers validly signed but odd requests with a 4xx or well-formed TwiML that carries none of the markup it was sent; never a 5xx', async () => {
    let judged = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), query, params, async (path, q, p) => {
        const before = { records: await recordsFingerprint(db), sms: peer.messages.length, updates: peer.callUpdates.length };
        const headers = {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signTwilioRequest(TEST_SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL + path + q, p),
        };
        const res = await post(path + q, new URLSearchParams(p).toString(), headers);
        if (res.status >= 500) throw new Error(`${path}${q} signed, answered ${res.status}: ${res.text.slice(0, 300)}`);
        if (res.status === 200) {
          if (!/xml/.test(res.type)) throw new Error(`${path} answered 200 with ${res.type}`);
          if (!/^<\?xml[^>]*\?>\s*<Response(\/>|>[\s\S]*<\/Response>)\s*$/.test(res.text))
            throw new Error(`${path} answered TwiML that is not one <Response>: ${res.text.slice(0, 300)}`);
          if (res.text.includes(INJECTED) || res.text.includes('<Dial>+1555555'))
            throw new Error(`${path} put sent markup into its TwiML: ${res.text.slice(0, 300)}`);
          const foreign = [...res.text.matchAll(/<([A-Za-z][\w:-]*)/g)].map((m) => m[1]).filter((e) => !TWIML_ELEMENTS.has(e));
          if (foreign.length)
            throw new Error(`${path} answered elements TwiML does not have (${foreign.join(', ')}): ${res.text.slice(0, 300)}`);
          judged++;
          const problems = sideEffects(before, {
            records: await recordsFingerprint(db),
            sms: peer.messages.length,
            updates: peer.callUpdates.length,
          });
          if (problems.length)
            throw new Error(`${path}${q} answered 200, but:\n- ${problems.join('\n- ')}\nsent ${JSON.stringify(p).slice(0, 300)}`);
        } else if (res.status < 400) {
          throw new Error(`${path} answered ${res.status}`);
        }
      }),
      { numRuns: RUNS * 2, seed: SEED + 1, endOnFailure: true },
    );
    process.stderr.write(`webhook fuzzing: ${judged} signed 200 answers judged (TwiML and side effects)\n`);
  }, 60_000);
});
