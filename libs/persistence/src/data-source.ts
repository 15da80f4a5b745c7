import { DataSource, DataSourceOptions } from 'typeorm';
import { AuditEntryEntity } from './entities/audit-entry.entity';
import { CallEntity } from './entities/call.entity';
import { ConsentEntity } from './entities/consent.entity';
import { DataKeyEntity } from './entities/data-key.entity';
import { DeletionCertificateEntity } from './entities/deletion-certificate.entity';
import { DeletionRequestEntity } from './entities/deletion-request.entity';
import { EscalationEntity } from './entities/escalation.entity';
import { LegalHoldEntity } from './entities/legal-hold.entity';
import { NoteEntity } from './entities/note.entity';
import { RecordingEntity } from './entities/recording.entity';
import { RiskAssessmentEntity } from './entities/risk-assessment.entity';
import { StaffEntity } from './entities/staff.entity';
import { join } from 'path';
import { readdirSync } from 'fs';

export const KEYSTORE = 'keystore';

export const RECORD_ENTITIES = [
  StaffEntity,
  CallEntity,
  NoteEntity,
  RiskAssessmentEntity,
  ConsentEntity,
  RecordingEntity,
  LegalHoldEntity,
  EscalationEntity,
  DeletionCertificateEntity,
  DeletionRequestEntity,
  AuditEntryEntity,
];
export const KEYSTORE_ENTITIES = [DataKeyEntity];

/** Migration classes found in a folder (works from sources via scripts/register.js and from a build). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for migration classes
function migrationsIn(folder: string): Function[] {
  const dir = join(__dirname, 'migrations', folder);
  return readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.map'))
    .sort()
    .flatMap((f) => Object.values(require(join(dir, f))) as (new () => unknown)[]);
}

const common = {
  type: 'mysql' as const,
  // synchronize would silently drop columns and their data (typeorm #2344): schema changes are migrations only.
  synchronize: false,
  migrationsRun: false,
  timezone: 'Z',
  charset: 'utf8mb4_unicode_ci',
  supportBigNumbers: true,
  bigNumberStrings: false,
  logging: false as const,
};

export function recordsDataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    ...common,
    url,
    entities: RECORD_ENTITIES,
    migrations: migrationsIn('records'),
    migrationsTableName: 'migrations',
    extra: { connectionLimit: 20 },
    ...extra,
  } as DataSourceOptions;
}

export function keystoreDataSourceOptions(url: string, extra: Partial<DataSourceOptions> = {}): DataSourceOptions {
  return {
    ...common,
    name: KEYSTORE,
    url,
    entities: KEYSTORE_ENTITIES,
    migrations: migrationsIn('keystore'),
    migrationsTableName: 'migrations',
    extra: { connectionLimit: 10 },
    ...extra,
  } as DataSourceOptions;
}

/** Applies pending migrations to both databases; returns the names applied. */
export async function runMigrations(databaseUrl: string, keystoreUrl: string): Promise<string[]> {
  const applied: string[] = [];
  const [records, keystore] = [
    new DataSource(recordsDataSourceOptions(databaseUrl)),
    new DataSource(keystoreDataSourceOptions(keystoreUrl)),
  ];
  try {
    for (const ds of [records, keystore]) {
      await ds.initialize();
      const ran = await ds.runMigrations({ transaction: 'each' });
      applied.push(...ran.map((m) => m.name));
    }
    // An unpaired keystore is paired with the records database it was migrated beside (a paired one
    // keeps its pairing: migrating it beside another records database changes nothing).
    const [identity] = await records.query('SELECT database_id FROM records_identity WHERE id = 1');
    await keystore.query(
      'UPDATE keystore_identity SET records_database_id = ?, paired_at = NOW(3) WHERE id = 1 AND records_database_id IS NULL',
      [identity.database_id],
    );
  } finally {
    for (const ds of [records, keystore]) if (ds.isInitialized) await ds.destroy();
  }
  return applied;
}
