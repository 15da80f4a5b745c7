import { INestApplication } from '@nestjs/common';
import { AddressInfo, createServer } from 'net';
import request from 'supertest';
import { createGatewayApp } from '../../apps/gateway/src/bootstrap';
import { envFor } from '../support/env-for';
import { startRecordsApp } from '../support/records-app';

/** The console page and its `/api` pass-through to records, without a browser. */
describe('the console page and its records pass-through', () => {
  let records: INestApplication;
  let gateway: INestApplication;
  let orphan: INestApplication;

  beforeAll(async () => {
    const started = await startRecordsApp({}, { listen: true });
    records = started.app;
    const recordsUrl = started.url;
    gateway = await createGatewayApp(envFor({ RECORDS_URL: recordsUrl }, 'gateway'));
    await gateway.init();
    // A gateway whose records service is not there (a port nothing listens on).
    orphan = await createGatewayApp(envFor({ RECORDS_URL: `http://127.0.0.1:${await closedPort()}` }, 'gateway'));
    await orphan.init();
  }, 60_000);

  afterAll(async () => {
    await Promise.all([gateway?.close(), orphan?.close(), records?.close()]);
  });

  it('serves the page at / with a strict content policy, and the bundle it names', async () => {
    const page = await request(gateway.getHttpServer()).get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['cache-control']).toBe('no-store');
    const js = page.text.match(/src="(\/console\/app\.js\?v=\w+)"/)?.[1];
    const css = page.text.match(/href="(\/console\/app\.css\?v=\w+)"/)?.[1];
    expect(js).toBeDefined();
    expect(css).toBeDefined();
    const script = await request(gateway.getHttpServer()).get(js!);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.text).toContain('Sign in');
    const again = await request(gateway.getHttpServer()).get(js!).set('If-None-Match', script.headers.etag);
    expect(again.status).toBe(304);
    expect((await request(gateway.getHttpServer()).get(css!)).status).toBe(200);
    expect((await request(gateway.getHttpServer()).get('/console/../../package.json')).status).toBe(404);
  });

  it('passes sign-in and call requests through to records, with their status', async () => {
    const login = await request(gateway.getHttpServer())
      .post('/api/auth/login')
      .send({ username: 'nobody-here', password: 'not-the-password' });
    expect(login.status).toBe(401);
    expect(login.body.message).toEqual(expect.any(String));
    const calls = await request(gateway.getHttpServer()).get('/api/calls');
    expect(calls.status).toBe(401);
    const forged = await request(gateway.getHttpServer()).get('/api/calls').set('Authorization', 'Bearer not-a-token');
    expect(forged.status).toBe(401);
  });

  it('exposes only what the console uses: not records docs, metrics or health', async () => {
    for (const path of ['/api/docs/json', '/api/metrics', '/api/health', '/api/audit/checkpoints', '/api/calls/x/../../docs']) {
      const res = await request(gateway.getHttpServer()).get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    // The auditor's console verifies the chain through the pass-through: records checks the token.
    expect((await request(gateway.getHttpServer()).get('/api/audit/verify')).status).toBe(401);
  });

  it('refuses a body that is not JSON and answers 502 when records is away', async () => {
    const text = await request(gateway.getHttpServer())
      .post('/api/auth/login')
      .set('Content-Type', 'text/plain')
      .send('username=a&password=b');
    expect(text.status).toBe(415);
    const away = await request(orphan.getHttpServer()).post('/api/auth/login').send({ username: 'a', password: 'b' });
    expect(away.status).toBe(502);
    expect(away.body).toMatchObject({ statusCode: 502, correlationId: expect.any(String) });
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
