/**
 * Each app's own MySQL account, with only the grants in scripts/db-accounts.sql. Run as the migrator
 * (which holds every right on the two databases WITH GRANT OPTION, and CREATE USER) after the
 * migrations: by `npm run migrate` (so `npm start`, the demo and compose's migrate service) and by the
 * tests' globalSetup for each run's databases. `node -r ./scripts/register.js scripts/db-accounts.ts`
 * applies them to DATABASE_URL and KEYSTORE_URL on its own.
 *
 * Passwords: `GATEWAY_DB_PASSWORD`, `RECORDS_DB_PASSWORD`, `WORKER_DB_PASSWORD`. An account is created
 * with its variable's value, or else with the local development password below (as `hotline:hotline`
 * is the local migrator's); an account that exists has its password changed only when the variable is
 * set. Relative imports only: the tests' globalSetup runs outside jest's module mapping.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Connection, createConnection } from 'mysql2/promise';

export type DbApp = 'gateway' | 'records' | 'worker';
export const DB_APPS: DbApp[] = ['gateway', 'records', 'worker'];

/** Each app's account, the variable holding its password, and the local development password. */
export const DB_ACCOUNTS: Record<DbApp, { user: string; passwordVar: string; devPassword: string }> = {
  gateway: { user: 'hotline_gateway', passwordVar: 'GATEWAY_DB_PASSWORD', devPassword: 'hotline-gateway' },
  records: { user: 'hotline_records', passwordVar: 'RECORDS_DB_PASSWORD', devPassword: 'hotline-records' },
  worker: { user: 'hotline_worker', passwordVar: 'WORKER_DB_PASSWORD', devPassword: 'hotline-worker' },
};

/** Every variable that names an app's own database account or URL (none of them is another app's business). */
export const DB_ACCOUNT_VARS = DB_APPS.flatMap((app) => [
  DB_ACCOUNTS[app].passwordVar,
  `${app.toUpperCase()}_DATABASE_URL`,
  `${app.toUpperCase()}_KEYSTORE_URL`,
]);

export function dbPassword(app: DbApp, env: NodeJS.ProcessEnv = process.env): string {
  return env[DB_ACCOUNTS[app].passwordVar] || DB_ACCOUNTS[app].devPassword;
}

/** `url` (the migrator's, or any with the same server and database) as `app`'s own account. */
export function asDbAccount(url: string, app: DbApp, env: NodeJS.ProcessEnv = process.env): string {
  const u = new URL(url);
  u.username = DB_ACCOUNTS[app].user;
  u.password = encodeURIComponent(dbPassword(app, env));
  return u.toString();
}

/**
 * `app`'s DATABASE_URL (and KEYSTORE_URL, but never the gateway's: it has no business there), from
 * `<APP>_DATABASE_URL`/`<APP>_KEYSTORE_URL` when given, or else the migrator's URL with the app's
 * account and password.
 */
export function dbUrlsOfApp(app: DbApp, env: NodeJS.ProcessEnv, defaults: { DATABASE_URL: string; KEYSTORE_URL: string }) {
  const P = app.toUpperCase();
  const urls: { DATABASE_URL: string; KEYSTORE_URL?: string } = {
    DATABASE_URL: env[`${P}_DATABASE_URL`] || asDbAccount(env.DATABASE_URL || defaults.DATABASE_URL, app, env),
  };
  if (app !== 'gateway') urls.KEYSTORE_URL = env[`${P}_KEYSTORE_URL`] || asDbAccount(env.KEYSTORE_URL || defaults.KEYSTORE_URL, app, env);
  return urls;
}

const SQL_FILE = join(__dirname, 'db-accounts.sql');

/** The grant statements for these two databases (comments dropped, names filled in). */
export function grantStatements(records: string, keystore: string): string[] {
  for (const name of [records, keystore])
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" must be letters, digits and _`);
  return readFileSync(SQL_FILE, 'utf8')
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .map((s) => s.replace(/\{\{records\}\}/g, records).replace(/\{\{keystore\}\}/g, keystore));
}

function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Errors that only say there was nothing to revoke. */
const NOTHING_TO_REVOKE = new Set(['ER_NONEXISTING_GRANT', 'ER_NONEXISTING_TABLE_GRANT']);

/**
 * Creates the three accounts where missing and makes their privileges on the two databases exactly
 * those of db-accounts.sql, as the migrator of each URL. A keystore on another server gets its grants
 * (and only the accounts that have any there) on that server.
 */
export async function applyDbAccounts(databaseUrl: string, keystoreUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const records = databaseOf(databaseUrl);
  const keystore = databaseOf(keystoreUrl);
  const statements = grantStatements(records, keystore);
  const server = (url: string) => `${new URL(url).hostname}:${new URL(url).port || '3306'}`;
  const servers =
    server(databaseUrl) === server(keystoreUrl)
      ? [{ url: databaseUrl, dbs: [records, keystore] }]
      : [
          { url: databaseUrl, dbs: [records] },
          { url: keystoreUrl, dbs: [keystore] },
        ];
  for (const { url, dbs } of servers) {
    const here = statements.filter((st) => dbs.includes(/ ON `([^`]+)`\./.exec(st)?.[1] ?? ''));
    const conn = await createConnection({ uri: url });
    try {
      for (const app of DB_APPS) {
        const { user, passwordVar } = DB_ACCOUNTS[app];
        const account = `${quote(user)}@'%'`;
        if (!here.some((st) => st.endsWith(` TO ${account}`))) continue;
        await conn.query(`CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY ${quote(dbPassword(app, env))}`);
        if (env[passwordVar]) await conn.query(`ALTER USER ${account} IDENTIFIED BY ${quote(dbPassword(app, env))}`);
        await revokeAll(conn, account, dbs);
      }
      for (const st of here) await conn.query(st);
    } finally {
      await conn.end();
    }
  }
}

/** Every privilege `account` holds on these databases and their tables (and columns). */
async function revokeAll(conn: Connection, account: string, dbs: string[]): Promise<void> {
  const [tables] = (await conn.query(
    'SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)',
    [dbs],
  )) as unknown as [{ db: string; t: string }[]];
  const targets = [...dbs.map((db) => `\`${db}\`.*`), ...tables.map(({ db, t }) => `\`${db}\`.\`${t}\``)];
  for (const target of targets) {
    try {
      await conn.query(`REVOKE ALL PRIVILEGES ON ${target} FROM ${account}`);
    } catch (e) {
      if (!NOTHING_TO_REVOKE.has((e as { code?: string }).code ?? '')) throw e;
    }
  }
}

if (require.main === module) {
  const databaseUrl = process.env.DATABASE_URL ?? 'mysql://hotline:hotline@127.0.0.1:3306/hotline';
  const keystoreUrl = process.env.KEYSTORE_URL ?? 'mysql://hotline:hotline@127.0.0.1:3306/hotline_keys';
  applyDbAccounts(databaseUrl, keystoreUrl)
    .then(() => process.stdout.write(`database accounts: ${DB_APPS.map((a) => DB_ACCOUNTS[a].user).join(', ')} granted\n`))
    .catch((e) => {
      process.stderr.write(`db-accounts failed: ${e.message}\n`);
      process.exit(1);
    });
}
