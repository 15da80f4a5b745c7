/**
 * Call intake: `POST /twilio/voice/incoming` on the real gateway (signature check, call id, notice
 * and consent menu as TwiML) against a bare `node:http` handler doing the same signature check with
 * twilio's validateRequest and answering a fixed TwiML, in the same run, with the same load:
 * signed form posts, CONCURRENCY in flight, over loopback keep-alive connections. The load comes
 * from a child process (as a load tester would), so it does not share the servers' event loop.
 */
import { createServer, Server } from 'http';
import { AddressInfo } from 'net';
import twilio from 'twilio';
import { createGatewayApp } from '../apps/gateway/src/bootstrap';
import { envFor } from '../test/support/env-for';
import { TEST_SECRETS } from '../test/support/test-config';
import { CONCURRENCY, formBody, gatewayAgainstFloor, PUBLIC_URL } from './support/webhook-load';
import { Bench, BenchRow } from './types';

const REQUESTS = Number(process.env.INTAKE_BENCH_REQUESTS ?? 4000);
const WARMUP = 300;

function bareServer(): Promise<Server> {
  const fixed =
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say>notice</Say><Gather numDigits="1"><Say>menu</Say></Gather></Response>';
  const server = createServer(async (req, res) => {
    const params = await formBody(req);
    const ok = twilio.validateRequest(
      TEST_SECRETS.TWILIO_AUTH_TOKEN,
      String(req.headers['x-twilio-signature'] ?? ''),
      PUBLIC_URL + req.url,
      params,
    );
    res.statusCode = ok ? 200 : 403;
    res.setHeader('Content-Type', 'text/xml');
    res.end(ok ? fixed : 'Forbidden');
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

const bench: Bench = async () => {
  const app = await createGatewayApp(envFor({ PUBLIC_URL }));
  await app.listen(0, '127.0.0.1');
  const bare = await bareServer();
  try {
    const gatewayUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    const { gateway: gw, floor } = await gatewayAgainstFloor(gatewayUrl, bareUrl, {
      kind: 'incoming',
      expect: '<Gather',
      requests: REQUESTS,
      warmup: WARMUP,
    });
    const ratio = gw.rps / floor.rps;
    const rows: BenchRow[] = [
      {
        name: `call intake webhook throughput (${CONCURRENCY} in flight)`,
        value: gw.rps,
        unit: 'req/s',
        floor: { name: 'bare node:http + same signature check', value: floor.rps, unit: 'req/s' },
        ratio,
        target: '>= 0.3',
        pass: ratio >= 0.3,
        goal: { on: 'ratio', atLeast: 0.3 },
      },
      {
        name: 'call intake webhook p99 latency',
        value: gw.p99,
        unit: 'ms',
        floor: { name: 'bare node:http p99', value: floor.p99, unit: 'ms' },
        target: '< 50 ms',
        pass: gw.p99 < 50,
        goal: { on: 'value', below: 50 },
        notes: `p50 ${gw.p50.toFixed(2)} ms (bare ${floor.p50.toFixed(2)} ms), ${REQUESTS} requests each`,
      },
    ];
    return rows;
  } finally {
    await app.close();
    await new Promise<void>((r) => bare.close(() => r()));
  }
};

export default bench;
