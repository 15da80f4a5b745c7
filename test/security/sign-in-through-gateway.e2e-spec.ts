import { request as httpRequest } from 'http';
import { envFor } from '../support/env-for';
import { TestStaff } from '../support/factories';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';

/**
 * Sign-in throttling as the console reaches it: through the gateway's `/api/auth/login`, which
 * tells records the client address it computed (`req.ip`: X-Forwarded-For believed only from
 * TRUSTED_PROXIES). A stranger must not be able to lock staff out, neither by hammering from one
 * address nor by claiming other addresses. The numbers are docs/records.md's (sign-in), written out:
 * one username from one address is slowed after 5 failures and locked from that address at 10;
 * an address is slowed after 20 failures and locked at 40; no account is ever locked.
 */
const ADDRESS_LOCKED_AT = 40;

interface Answer {
  status: number;
  body: any;
}

/**
 * POST /api/auth/login on `base`, from the local address `from` (any 127.0.0.0/8 address: a client
 * of its own, so that what it does touches no other test's address), claiming `xff` if given.
 */
function signIn(base: string, creds: { username: string; password: string }, opts: { xff?: string; from?: string } = {}): Promise<Answer> {
  const body = JSON.stringify({ username: creds.username, password: creds.password });
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
  if (opts.xff) headers['X-Forwarded-For'] = opts.xff;
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/api/auth/login`, { method: 'POST', headers, localAddress: opts.from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs `tasks` with at most `width` at a time, answers in order. */
async function pooled<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]();
      }
    }),
  );
  return out;
}

describe('sign-in through the gateway: throttling a stranger cannot turn against staff', () => {
  const records = withRecordsApp({}, { listen: true });
  const { f } = records;
  /** Trusts X-Forwarded-For from loopback (the default): the test client plays a local reverse proxy. */
  let gateway: GatewayTestApp;
  /** Trusts X-Forwarded-For only from 10.9.9.9: the test client is a client like any other. */
  let strict: GatewayTestApp;

  beforeAll(async () => {
    gateway = await startGatewayApp(envFor({ RECORDS_URL: records.url }));
    strict = await startGatewayApp(envFor({ RECORDS_URL: records.url, TRUSTED_PROXIES: '10.9.9.9' }));
  }, 60_000);

  afterAll(async () => {
    await gateway?.app.close();
    await strict?.app.close();
  });

  const auditHead = async (): Promise<number> => Number((await f.db.query('SELECT COALESCE(MAX(seq), 0) AS s FROM audit_log'))[0].s);
  const lastSignInOf = async (staff: TestStaff): Promise<string> => {
    const [row] = await f.db.query(
      "SELECT at FROM audit_log WHERE action = 'auth.login' AND target_type = 'staff' AND target_id = ? ORDER BY seq DESC LIMIT 1",
      [staff.id],
    );
    return new Date(row.at).toISOString();
  };

  it('1,000 failed sign-ins from one address leave other staff, and the victim from their own address, able to sign in', async () => {
    const victim = await f.staff('operator');
    const bystander = await f.staff('supervisor');
    const colleagues = await Promise.all([1, 2, 3].map(() => f.staff('operator')));
    const victimHome = '100.64.1.1';
    const attacker = '100.64.0.7';
    const before = await signIn(gateway.base, victim, { xff: victimHome });
    expect(before.status).toBe(200);
    const victimLastSignIn = await lastSignInOf(victim);

    // A realistic mix: the victim's username a quarter of the time, other real ones an eighth each,
    // and the rest made up (common guesses and random names).
    const COMMON = ['admin', 'root', 'supervisor', 'test', 'operator1', 'hotline'];
    const username = (i: number): string =>
      i % 4 === 0
        ? victim.username
        : i % 8 === 1
          ? bystander.username
          : i % 8 === 3
            ? colleagues[i % colleagues.length].username
            : i % 8 === 5
              ? COMMON[i % COMMON.length]
              : `made-up-${i}`;
    const attempts = Array.from({ length: 1000 }, (_, i) => ({ username: username(i), password: `Spring2026!${i}` }));
    const since = await auditHead();
    const answers = await pooled(
      attempts.map((a) => () => signIn(gateway.base, a, { xff: attacker })),
      8,
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => ![401, 423, 429].includes(s))).toEqual([]);
    // The address was locked on the way, and stays locked for anyone there.
    expect(statuses.slice(-100).every((s) => s === 423)).toBe(true);
    expect((await signIn(gateway.base, bystander, { xff: attacker })).status).toBe(423);
    // Few passwords were checked at all: no more than the address's lock allows.
    const [{ n: checked }] = await f.db.query(
      "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'auth.login_failed' AND seq > ? AND JSON_UNQUOTE(JSON_EXTRACT(detail, '$.reason')) IN ('bad_password', 'unknown_user')",
      [since],
    );
    expect(Number(checked)).toBeLessThanOrEqual(ADDRESS_LOCKED_AT);

    // Another member of staff, from another address: in, and told how many attempts failed on their account.
    const other = await signIn(gateway.base, bystander, { xff: '100.64.2.2' });
    expect(other.status).toBe(200);
    expect(other.body.failedAttemptsSince).toBe(attempts.filter((a) => a.username === bystander.username).length + 1);
    for (const [i, c] of colleagues.entries()) expect((await signIn(gateway.base, c, { xff: `100.64.3.${i + 1}` })).status).toBe(200);

    // The victim, from their own address: in, told when they last signed in and how many attempts failed since.
    const back = await signIn(gateway.base, victim, { xff: victimHome });
    expect(back.status).toBe(200);
    expect(back.body.lastSignInAt).toBe(victimLastSignIn);
    expect(back.body.failedAttemptsSince).toBe(attempts.filter((a) => a.username === victim.username).length);
    // No account was locked.
    const locked = await f.db.query('SELECT COUNT(*) AS n FROM staff WHERE locked_until IS NOT NULL');
    expect(Number(locked[0].n)).toBe(0);
  }, 180_000);

  it('a forged X-Forwarded-For from a client that is not a trusted proxy changes nothing', async () => {
    const client = '127.0.0.2';
    let forgedSeq = 0;
    const forged = () => `198.18.0.${++forgedSeq}`;
    const target = await f.staff('operator');

    // Ten wrong passwords for one username, each claiming another address: counted as what they are,
    // ten from one address (the client's), so slowed after five and locked at the tenth.
    const statuses: number[] = [];
    for (let i = 1; i <= 10; i++) {
      statuses.push(
        (await signIn(strict.base, { username: target.username, password: `wrong-${i}-password` }, { xff: forged(), from: client })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 423]);
    // Claiming yet another address does not get round the lock, even with the right password.
    expect((await signIn(strict.base, target, { xff: forged(), from: client })).status).toBe(423);

    // Spraying made-up usernames, each under another claimed address: one address, slowed after 20
    // failures (the five counted for the username above, and fifteen more).
    const spray: Answer[] = [];
    for (let i = 1; i <= 17; i++) {
      spray.push(
        await signIn(strict.base, { username: `sprayed-${i}-${Date.now()}`, password: 'Winter2025!!' }, { xff: forged(), from: client }),
      );
    }
    expect(spray.map((a) => a.status)).toEqual([...Array(15).fill(401), 429, 429]);
    expect(spray[15].body.message).toMatch(/from your address/);

    // The member was never locked: from where they are (a trusted hop says so), they sign in.
    expect((await signIn(gateway.base, target, { xff: '100.64.4.4' })).status).toBe(200);

    // Control: through the gateway that trusts this kind of client (a local proxy), the same claims are
    // believed, so the same ten guesses are ten first failures from ten addresses.
    const control = await f.staff('operator');
    const believed: number[] = [];
    for (let i = 1; i <= 10; i++) {
      believed.push(
        (await signIn(gateway.base, { username: control.username, password: `wrong-${i}-password` }, { xff: forged(), from: '127.0.0.3' }))
          .status,
      );
    }
    expect(believed).toEqual(Array(10).fill(401));
  });
});
