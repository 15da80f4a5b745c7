import { INestApplication } from '@nestjs/common';
import { KeyObject, createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'crypto';
import { tokenKeyId } from '@hotline/auth';
import { envFor } from '../support/env-for';
import { Factory, TestStaff, bearer } from '../support/factories';
import { TEST_SECRETS } from '../support/test-config';
import { connectConsole } from '../support/webhooks';
import { startRecordsApp } from '../support/records-app';
import { startGatewayApp } from '../support/gateway-app';

/**
 * Forged and tampered access tokens: every one is a 401 on records and a connect_error on both
 * console namespaces. Tokens are built by hand here (not by the app's signer) so that each
 * tampering is exactly what an attacker would send. Only records' private key (ES256) makes a
 * token; whoever holds the gateway holds the public key only, and that signs nothing.
 */
const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const RECORDS_KEY = createPrivateKey(TEST_SECRETS.TOKEN_PRIVATE_KEY);
const KID = tokenKeyId(RECORDS_KEY);
const OTHER_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
/** What the apps shared before tokens were asymmetric (a token made with it must mean nothing now). */
const RETIRED_SHARED_SECRET = 'test-jwt-secret-0123456789abcdef0123456789abcdef';

/** ES256 with `key` (records' key unless said), or HMAC with a string key, or unsigned (`null`). */
function jwt(header: object, payload: object, key: KeyObject | string | null = RECORDS_KEY, hash = 'sha256'): string {
  const signing = `${b64(header)}.${b64(payload)}`;
  if (key === null) return `${signing}.`;
  if (typeof key === 'string') return `${signing}.${createHmac(hash, key).update(signing).digest('base64url')}`;
  return `${signing}.${sign('sha256', Buffer.from(signing), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

describe('JWT tampering', () => {
  let records: INestApplication;
  let gateway: INestApplication;
  let f: Factory;
  let admin: TestStaff;
  let base: string;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    ({ app: records, f } = await startRecordsApp());
    admin = await f.staff('admin');
    ({ app: gateway, base } = await startGatewayApp(envFor()));
  });
  afterAll(async () => {
    await gateway?.close();
    await records?.close();
  });

  /** What an attacker makes of a real token: every variant must be refused. */
  /** `as`: the role the attacker wants (one the real token does not have). */
  function forgeries(real: TestStaff, as: 'admin' | 'supervisor' | 'operator' = 'admin'): [string, string][] {
    if (real.role === as) throw new Error('tamper towards a role the token does not already have');
    const [h, p, s] = real.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const es256 = { alg: 'ES256', typ: 'JWT', kid: KID };
    return [
      ['signed with another P-256 key under records’ key id', jwt(es256, { ...claims, role: as }, OTHER_KEY)],
      [
        'signed with another P-256 key under its own key id',
        jwt({ ...es256, kid: tokenKeyId(OTHER_KEY) }, { ...claims, role: as }, OTHER_KEY),
      ],
      [
        'HS256 with the public key as the HMAC secret (algorithm confusion)',
        jwt({ alg: 'HS256', typ: 'JWT', kid: KID }, { ...claims, role: as }, TEST_SECRETS.TOKEN_PUBLIC_KEY),
      ],
      ['HS256 with the retired shared secret', jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, role: as }, RETIRED_SHARED_SECRET)],
      ['no key id', jwt({ alg: 'ES256', typ: 'JWT' }, { ...claims, role: as })],
      ['alg none', jwt({ alg: 'none', typ: 'JWT' }, { ...claims, role: as }, null)],
      ['alg none, original signature kept', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${s}`],
      ['alg "None"', jwt({ alg: 'None', typ: 'JWT' }, claims, null)],
      ['role edited in the payload, signature kept', `${h}.${b64({ ...claims, role: as })}.${s}`],
      ['subject edited in the payload, signature kept', `${h}.${b64({ ...claims, sub: randomUUID() })}.${s}`],
      ['ES384 header over an ES256 signature (algorithm switch)', jwt({ ...es256, alg: 'ES384' }, claims)],
      ['expired', jwt(es256, { ...claims, iat: now() - 7200, exp: now() - 60 })],
      ['not valid yet', jwt(es256, { ...claims, nbf: now() + 3600 })],
      ['issued by someone else', jwt(es256, { ...claims, iss: 'elsewhere' })],
      ['no issuer', jwt(es256, { sub: claims.sub, username: claims.username, role: claims.role, iat: now(), exp: now() + 600 })],
      ['a role that does not exist', jwt(es256, { ...claims, role: 'superuser' })],
      ['no subject', jwt(es256, { ...claims, sub: undefined })],
      ['signature stripped', `${h}.${p}.`],
      ['two parts only', `${h}.${p}`],
      [
        'header with a key URL to fetch',
        jwt({ alg: 'ES256', typ: 'JWT', jku: 'http://127.0.0.1:1/keys', kid: '../../dev/null' }, { ...claims, role: as }, OTHER_KEY),
      ],
      ['oversized', `${h}.${b64({ ...claims, pad: 'x'.repeat(6000) })}.${s}`],
      ['not a JWT', 'hello'],
    ];
  }

  it('checks itself: the untampered token, and one made here with records’ key, are accepted everywhere', async () => {
    const [, p] = admin.token.split('.');
    const remade = jwt({ alg: 'ES256', typ: 'JWT', kid: KID }, JSON.parse(Buffer.from(p, 'base64url').toString()));
    await f.http().get('/auth/me').set('Authorization', `Bearer ${remade}`).expect(200);
    await f.http().get('/auth/me').set(bearer(admin)).expect(200);
    const client = await connectConsole(base, '/supervisor', admin.token);
    client.close();
  });

  it('refuses every forged or tampered token on records with 401, and writes nothing', async () => {
    const op = await f.staff('operator');
    const staffBefore = await f.count('staff');
    for (const [what, token] of forgeries(op)) {
      const me = await f.http().get('/auth/me').set('Authorization', `Bearer ${token}`);
      const create = await f
        .http()
        .post('/users')
        .set('Authorization', `Bearer ${token}`)
        .send({ username: `forged-${randomUUID().slice(0, 8)}`, password: 'a-long-enough-password', role: 'admin', displayName: 'Forged' });
      const verify = await f.http().get('/audit/verify').set('Authorization', `Bearer ${token}`);
      expect([what, me.status, create.status, verify.status]).toEqual([what, 401, 401, 401]);
    }
    expect(await f.count('staff')).toBe(staffBefore);
  });

  it('refuses a token sent any other way than "Authorization: Bearer"', async () => {
    for (const header of [admin.token, `Basic ${admin.token}`, `Token ${admin.token}`, `Bearer`, `Bearer  `, `Bearer ${admin.token}x`]) {
      expect([header.slice(0, 12), (await f.http().get('/auth/me').set('Authorization', header)).status]).toEqual([
        header.slice(0, 12),
        401,
      ]);
    }
    expect((await f.http().get(`/auth/me?access_token=${admin.token}`)).status).toBe(401);
  });

  it('refuses every forged or tampered token on both console namespaces with a connect_error', async () => {
    // An auditor trying to get onto the operators' console, an operator onto the wallboard.
    for (const [namespace, real, as] of [
      ['/operator', await f.staff('auditor'), 'operator'],
      ['/supervisor', await f.staff('operator'), 'supervisor'],
    ] as const) {
      for (const [what, token] of forgeries(real, as)) {
        await expect(connectConsole(base, namespace, token).then((c) => (c.close(), `${what}: admitted`))).rejects.toThrow(/unauthorized/);
      }
    }
  });

  it('answers a valid signature for a staff member that does not exist with 401 on /auth/me', async () => {
    const ghost = jwt(
      { alg: 'ES256', typ: 'JWT', kid: KID },
      { sub: randomUUID(), username: 'ghost', role: 'admin', iss: 'hotline', iat: now(), exp: now() + 600 },
    );
    expect((await f.http().get('/auth/me').set('Authorization', `Bearer ${ghost}`)).status).toBe(401);
  });
});
