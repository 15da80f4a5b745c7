/**
 * The repository's own rules, tried on deliberate violations: scripts/check-rules.js (which lib may
 * name which table in SQL, who may decrypt) and dependency-cruiser with the repository's
 * .dependency-cruiser.js. Each case writes a small tree laid out like the repository into a
 * temporary directory and runs the real tool on it, as `npm run deps` does. A new rule gets a
 * case in SQL_CASES or IMPORT_CASES: the files to write, and the rule expected (or none).
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';

const ROOT = join(__dirname, '..', '..');

/** A temporary tree with these files (path relative to it -> content). */
function layout(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hotline-rules-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
  return dir;
}

function run(cmd: string, args: string[], cwd: string): { status: number; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** scripts/check-rules.js on the tree `dir` (its first argument). */
const checkRules = (dir: string) => run(process.execPath, [join(ROOT, 'scripts', 'check-rules.js'), dir], ROOT);

/** dependency-cruiser over the tree's apps and libs, with the repository's configuration. */
const depcruise = (dir: string) =>
  run(join(ROOT, 'node_modules', '.bin', 'depcruise'), ['apps', 'libs', '--config', join(ROOT, '.dependency-cruiser.js')], dir);

interface Case {
  name: string;
  files: Record<string, string>;
  /** The rule that must fail, naming `file`; absent: the tree passes. */
  rule?: string;
  file?: string;
}

const SQL = 'table-owned-by-another-lib';
const MULTILINE = 'export const f = (q: (s: string) => Promise<unknown>) => q(`select id\n from  staff`);\n';

const SQL_CASES: Case[] = [
  {
    name: 'lower-case SQL over two lines in an app',
    files: { 'apps/records/src/x.ts': MULTILINE },
    rule: SQL,
    file: 'apps/records/src/x.ts',
  },
  { name: 'the same SQL in the owner lib', files: { 'libs/auth/src/x.ts': MULTILINE } },
  { name: 'the same SQL in the migrations', files: { 'libs/persistence/src/migrations/records/1-X.ts': MULTILINE } },
  {
    name: 'DELETE FROM in a quoted string of another lib',
    files: { 'libs/retention/src/x.ts': "export const sql = 'DELETE FROM audit_log WHERE seq = ?';\n" },
    rule: SQL,
    file: 'libs/retention/src/x.ts',
  },
  {
    name: 'a backquoted name after INSERT INTO, tabs and line breaks',
    files: { 'apps/worker/src/x.ts': 'export const sql = "INSERT INTO\\n\\t`handovers` (id) VALUES (?)";\n' },
    rule: SQL,
    file: 'apps/worker/src/x.ts',
  },
  {
    name: 'UPDATE in a template literal with expressions, in the benchmarks',
    files: {
      'bench/x.ts':
        'const c = "status";\nexport const sql = `UPDATE ${"x"}\n  deletion_requests SET ${c} = ?`;\nexport const t = `update   deletion_requests set ${c} = ?`;\n',
    },
    rule: SQL,
    file: 'bench/x.ts',
  },
  {
    name: 'JOIN in a script',
    files: { 'scripts/x.js': "module.exports = 'SELECT 1 FROM calls c JOIN staff s ON s.id = c.operator_id';\n" },
    rule: SQL,
    file: 'scripts/x.js',
  },
  {
    name: 'TABLE (TRUNCATE TABLE) in an app',
    files: { 'apps/cli/src/x.ts': "export const sql = 'TRUNCATE TABLE data_keys';\n" },
    rule: SQL,
    file: 'apps/cli/src/x.ts',
  },
  {
    name: 'comments, prose outside strings and names that only begin like a table',
    files: {
      'apps/records/src/x.ts': [
        '// SELECT * FROM staff: a comment',
        '/* UPDATE audit_log SET hash = ? */',
        "const re = /from staff 'x/;",
        "export const label = 'from staff-room';",
        "export const css = 'table staff-table';",
        "export const other = 'SELECT * FROM staffing';",
        'export const n = 1 / 2; // "from calls"',
        'export { re };',
      ].join('\n'),
    },
  },
  {
    name: 'decrypting outside libs/crypto',
    files: { 'apps/records/src/x.ts': "import { createDecipheriv } from 'crypto';\nexport const d = createDecipheriv;\n" },
    rule: 'decrypt-only-in-libs-crypto',
    file: 'apps/records/src/x.ts',
  },
  {
    name: 'a migration that does not state its collation',
    files: { 'libs/persistence/src/migrations/records/1-X.ts': "export const up = 'CREATE TABLE things (id INT) ENGINE=InnoDB';\n" },
    rule: 'tables-state-their-collation',
    file: 'libs/persistence/src/migrations/records/1-X.ts',
  },
];

const TSCONFIG = JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'ES2022', baseUrl: './' } });

/** dependency-cruiser reads apps/ and libs/: a tree of the gateway's cases has a lib too. */
const A_LIB = { 'libs/x/src/a.ts': 'export const a = 1;\n' };

const IMPORT_CASES: Case[] = [
  {
    name: 'a lib that imports an app',
    files: {
      'libs/x/src/a.ts': "import { b } from '../../../apps/y/src/b';\nexport const a = b;\n",
      'apps/y/src/b.ts': 'export const b = 1;\n',
    },
    rule: 'lib-imports-app',
    file: 'libs/x/src/a.ts',
  },
  {
    name: 'an app that imports a lib',
    files: {
      'apps/y/src/b.ts': "import { a } from '../../../libs/x/src/a';\nexport const b = a;\n",
      'libs/x/src/a.ts': 'export const a = 1;\n',
    },
  },
  {
    name: 'a gateway folder that imports one of a higher layer (routing imports conference)',
    files: {
      'apps/gateway/src/routing/a.ts': "import { b } from '../conference/b';\nexport const a = b;\n",
      'apps/gateway/src/conference/b.ts': 'export const b = 1;\n',
      ...A_LIB,
    },
    rule: 'gateway-layer-2',
    file: 'apps/gateway/src/routing/a.ts',
  },
  {
    name: 'a gateway folder that imports one of its own layer (conference imports overflow)',
    files: {
      'apps/gateway/src/conference/a.ts': "import { b } from '../overflow/b';\nexport const a = b;\n",
      'apps/gateway/src/overflow/b.ts': 'export const b = 1;\n',
      ...A_LIB,
    },
    rule: 'gateway-layer-3',
    file: 'apps/gateway/src/conference/a.ts',
  },
  {
    name: 'a gateway folder in no layer',
    files: {
      'apps/gateway/src/stray/a.ts': "import { b } from '../live/b';\nexport const a = b;\n",
      'apps/gateway/src/live/b.ts': 'export const b = 1;\n',
      ...A_LIB,
    },
    rule: 'gateway-folder-in-a-layer',
    file: 'apps/gateway/src/stray/a.ts',
  },
  {
    name: 'a gateway folder that imports the layers below it (sockets imports conference, live and webhooks)',
    files: {
      'apps/gateway/src/sockets/a.ts':
        "import { b } from '../conference/b';\nimport { c } from '../live/c';\nimport { d } from '../webhooks/d';\nexport const a = b + c + d;\n",
      'apps/gateway/src/conference/b.ts': "import { c } from '../live/c';\nexport const b = c;\n",
      'apps/gateway/src/live/c.ts': 'export const c = 1;\n',
      'apps/gateway/src/webhooks/d.ts': 'export const d = 1;\n',
      ...A_LIB,
    },
  },
];

describe('source rules (scripts/check-rules.js)', () => {
  it.each(SQL_CASES)('$name', ({ files, rule, file }) => {
    const dir = layout(files);
    try {
      const { status, output } = checkRules(dir);
      if (!rule) {
        expect(output).not.toMatch(/error /);
        expect(status).toBe(0);
        return;
      }
      expect(status).toBe(1);
      expect(output).toMatch(new RegExp(`error ${rule}: ${file!.replace(/[.]/g, '\\.')}:\\d+`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names each offending table and its owner', () => {
    const dir = layout({ 'apps/records/src/x.ts': MULTILINE });
    try {
      expect(checkRules(dir).output).toContain('apps/records/src/x.ts:2: staff belongs to libs/auth');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives every table the migrations create exactly one owner', () => {
    const { OWNER_OF_TABLE, TABLE_OWNERS } = require(join(ROOT, 'scripts', 'table-owners.js'));
    const listed = Object.values(TABLE_OWNERS as Record<string, string[]>).flat();
    expect(new Set(listed).size).toBe(listed.length);
    const migrations = join(ROOT, 'libs', 'persistence', 'src', 'migrations');
    const created = readdirSync(migrations, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join(migrations, f), 'utf8').matchAll(/CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?\s*\(/gi)])
      .map((m) => m[1].toLowerCase());
    expect(created.length).toBeGreaterThan(30);
    for (const table of created) expect([table, OWNER_OF_TABLE.get(table)]).toEqual([table, expect.stringMatching(/^libs\//)]);
  });
});

describe('dependency rules (.dependency-cruiser.js)', () => {
  it.each(IMPORT_CASES)('$name', ({ files, rule, file }) => {
    const dir = layout({ ...files, 'tsconfig.json': TSCONFIG });
    try {
      const { status, output } = depcruise(dir);
      if (!rule) {
        expect(output).not.toMatch(/error /);
        expect(status).toBe(0);
        return;
      }
      expect(status).not.toBe(0);
      expect(output).toContain(`error ${rule}: ${file}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
