import { TOTP, Secret } from 'otpauth';
import { Clock } from '@hotline/clock';
import type { Factory, TestStaff } from './factories';

/** A member who has enrolled a TOTP factor, as their authenticator app knows them. */
export interface Enrolled extends TestStaff {
  totpSecret?: string;
  recoveryCodes?: string[];
  /** The last TOTP time step this helper sent (the server takes each once). */
  lastStep?: number;
}

/** A code from the member's authenticator app (RFC 6238, SHA-1, 6 digits, 30 s) for `atMs`. */
export function totpCode(secret: string, atMs = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: atMs });
}

/**
 * Signs a member in through the real routes: password, then (when asked) TOTP enrolment or a TOTP
 * code from their secret, then the current confidentiality agreement when it is required. A code
 * already used in this time step is not sent again: the next step's code is (the server accepts one
 * step either side). Returns the token and the final answer; the member's token is replaced.
 */
export async function signIn(
  f: Factory,
  s: Enrolled,
  opts: { acceptAgreement?: boolean; address?: string } = {},
): Promise<{ token: string; body: any }> {
  const address = opts.address ?? '198.51.100.77';
  const login = await f.http().post('/auth/login').set('X-Forwarded-For', address).send({ username: s.username, password: s.password });
  if (login.status !== 200) throw new Error(`sign-in refused: ${login.status} ${JSON.stringify(login.body)}`);
  let body = login.body;
  if (body.factorRequired === 'enrol') {
    const enrol = await f.http().post('/auth/factor/enrol').send({ challenge: body.challenge });
    s.totpSecret = enrol.body.secret;
  }
  if (body.factorRequired) {
    // The app's clock (a test may have moved it), as the member's phone would agree with the server's.
    const step = Math.floor(f.app.get(Clock, { strict: false }).nowMs() / 30000);
    const use = s.lastStep !== undefined && s.lastStep >= step ? s.lastStep + 1 : step;
    s.lastStep = use;
    const res = await f
      .http()
      .post('/auth/factor')
      .set('X-Forwarded-For', address)
      .send({ challenge: body.challenge, code: totpCode(s.totpSecret!, use * 30000) });
    if (res.status !== 200) throw new Error(`second factor refused: ${res.status} ${JSON.stringify(res.body)}`);
    body = res.body;
    if (body.recoveryCodes) s.recoveryCodes = body.recoveryCodes;
  }
  s.token = body.accessToken;
  if (opts.acceptAgreement !== false) {
    const current = await f.http().get('/agreements/current').set('Authorization', `Bearer ${s.token}`);
    if (current.status === 200 && !current.body.acceptedAt) {
      await f.http().post(`/agreements/${current.body.version}/accept`).set('Authorization', `Bearer ${s.token}`).expect(200);
    }
  }
  return { token: s.token, body };
}
