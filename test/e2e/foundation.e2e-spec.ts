import { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createGatewayApp } from '../../apps/gateway/src/bootstrap';
import { createRecordsApp } from '../../apps/records/src/bootstrap';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { envFor } from '../support/env-for';
import { openTestDataSources } from '../support/db';

describe('the three apps', () => {
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close();
  });

  it.each([
    ['records', createRecordsApp],
    ['worker', createWorkerApp],
    ['gateway', createGatewayApp],
  ] as const)('%s serves /health (MySQL and Redis up) and /metrics', async (name, create) => {
    const app = await create(envFor({}, name));
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    const health = await request(app.getHttpServer()).get('/health');
    expect(health.body).toMatchObject({ status: 'ok' });
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
    expect(health.body.checks.mysql.status).toBe('up');
    expect(health.body.checks.redis.status).toBe('up');
    const metrics = await request(app.getHttpServer()).get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('process_resident_memory_bytes');
  });

  it('records serves its OpenAPI page', async () => {
    const app = await createRecordsApp(envFor());
    apps.push(app);
    await app.init();
    const res = await request(app.getHttpServer()).get('/docs/json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
  });
});

describe('migrations', () => {
  it('created every table in the records database, and in the keystore only data keys, one-time contact keys and its pairing with that database', async () => {
    const { db, keys, close } = await openTestDataSources();
    try {
      const tables = (await db.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()'))
        .map((r: any) => r.t)
        .sort();
      for (const t of [
        'staff',
        'calls',
        'notes',
        'risk_assessments',
        'consents',
        'legal_holds',
        'deletion_certificates',
        'audit_log',
        'escalations',
        'recordings',
        'deletion_requests',
        'records_identity',
      ]) {
        expect(tables).toContain(t);
      }
      expect(tables).not.toContain('data_keys');
      const keyTables = (await keys.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()'))
        .map((r: any) => r.t)
        .sort();
      expect(keyTables).toEqual(['contact_keys', 'data_keys', 'keystore_identity', 'migrations']);
      // Paired by the migration with the records database it was migrated beside.
      const [{ database_id: recordsId }] = await db.query('SELECT database_id FROM records_identity WHERE id = 1');
      expect(await keys.query('SELECT records_database_id AS id FROM keystore_identity WHERE id = 1')).toEqual([{ id: recordsId }]);
    } finally {
      await close();
    }
  });
});
