import { INestApplication } from '@nestjs/common';
import { createHmac, randomUUID } from 'crypto';
import { envFor } from '../support/env-for';
import { Factory, TestStaff, bearer } from '../support/factories';
import { TEST_SECRETS } from '../support/test-config';
import { connectConsole } from '../support/webhooks';
import { startRecordsApp } from '../support/records-app';
import { startGatewayApp } from '../support/gateway-app';

/**
 * Forged and tampered access tokens: every one is a 401 on records and a connect_error on both
 * console namespaces. Tokens are built by hand here (not by the app's signer) so that each
 * tampering is exactly what an attacker would send.
 */
const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function jwt(header: object, payload: object, key: string | null = TEST_SECRETS.JWT_SECRET, hash = 'sha256'): string {
  const signing = `${b64(header)}.${b64(payload)}`;
  return `${signing}.${key === null ? '' : createHmac(hash, key).update(signing).digest('base64url')}`;
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
    const hs256 = { alg: 'HS256', typ: 'JWT' };
    return [
      ['alg none', jwt({ alg: 'none', typ: 'JWT' }, { ...claims, role: as }, null)],
      ['alg none, original signature kept', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${s}`],
      ['alg "None"', jwt({ alg: 'None', typ: 'JWT' }, claims, null)],
      ['role edited in the payload, signature kept', `${h}.${b64({ ...claims, role: as })}.${s}`],
      ['subject edited in the payload, signature kept', `${h}.${b64({ ...claims, sub: randomUUID() })}.${s}`],
      ['signed with another key', jwt(hs256, { ...claims, role: as }, 'not-the-secret-not-the-secret-not-the-secret')],
      ['HS512 with the right key (algorithm switch)', jwt({ alg: 'HS512', typ: 'JWT' }, claims, TEST_SECRETS.JWT_SECRET, 'sha512')],
      ['expired', jwt(hs256, { ...claims, iat: now() - 7200, exp: now() - 60 })],
      ['not valid yet', jwt(hs256, { ...claims, nbf: now() + 3600 })],
      ['issued by someone else', jwt(hs256, { ...claims, iss: 'elsewhere' })],
      ['no issuer', jwt(hs256, { sub: claims.sub, username: claims.username, role: claims.role, iat: now(), exp: now() + 600 })],
      ['a role that does not exist', jwt(hs256, { ...claims, role: 'superuser' })],
      ['no subject', jwt(hs256, { ...claims, sub: undefined })],
      ['signature stripped', `${h}.${p}.`],
      ['two parts only', `${h}.${p}`],
      ['header with a key URL to fetch', jwt({ alg: 'HS256', typ: 'JWT', jku: 'http://127.0.0.1:1/keys', kid: '../../dev/null' }, { ...claims, role: as }, '')],
      ['oversized', `${h}.${b64({ ...claims, pad: 'x'.repeat(6000) })}.${s}`],
      ['not a JWT', 'hello'],
    ];
  }

  it('checks itself: the untampered token is accepted everywhere', async () => {
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
      expect([header.slice(0, 12), (await f.http().get('/auth/me').set('Authorization', header)).status]).toEqual([header.slice(0, 12), 401]);
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
    const ghost = jwt({ alg: 'HS256', typ: 'JWT' }, { sub: randomUUID(), username: 'ghost', role: 'admin', iss: 'hotline', iat: now(), exp: now() + 600 });
    expect((await f.http().get('/auth/me').set('Authorization', `Bearer ${ghost}`)).status).toBe(401);
  });
});
