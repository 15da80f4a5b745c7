#!/usr/bin/env node
/**
 * The rules an import graph cannot express (dependency-cruiser checks the rest: .dependency-cruiser.js).
 *   1. Only libs/calls (and the migrations) names the call tables in SQL.
 *   2. Only libs/crypto decrypts: no other file calls a decipher.
 *   3. Every CREATE TABLE of a migration states COLLATE utf8mb4_unicode_ci (a table that takes the
 *      database's default cannot be compared with the others on a database made with another one).
 * Scans the TypeScript and JavaScript under apps/ and libs/; prints each offending line and exits 1.
 */
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

const rules = [
  {
    name: 'call-tables-only-in-libs-calls',
    why: 'only libs/calls (and the migrations) may name the call tables in SQL',
    pattern:
      /(FROM|INTO|UPDATE|JOIN) +(calls|notes|legal_holds|recordings|consents|risk_assessments|escalations|call_overflow|callbacks|callback_attempts|rescue_requests)\b/,
    allowed: [/^libs\/calls\//, /^libs\/persistence\/src\/migrations\//],
  },
  {
    name: 'decrypt-only-in-libs-crypto',
    why: 'only libs/crypto may decrypt (createDecipheriv and the like)',
    pattern: /\b(createDecipheriv|createDecipher|privateDecrypt|publicDecrypt)\b|\bsubtle\.decrypt\b/,
    allowed: [/^libs\/crypto\//],
  },
  {
    name: 'tables-state-their-collation',
    why: 'every CREATE TABLE of a migration states COLLATE utf8mb4_unicode_ci (never the database default: README "Running for real")',
    only: [/^libs\/persistence\/src\/migrations\//],
    // Applied as it was, stating none: records/1764000001800-CollationRepair.ts converts its tables.
    allowed: [/^libs\/persistence\/src\/migrations\/records\/1764000001400-CallsAsConferences\.ts$/],
    offending: createTablesWithoutCollation,
  },
];

/**
 * The lines of the CREATE TABLE statements in `text` that do not state the collation. A statement
 * runs to the end of the string literal it is in; `${name}` is read as the file's `const name = '...'`
 * (the migrations' table options). Comments are blanked first (lines kept).
 */
function createTablesWithoutCollation(source) {
  const blank = (c) => c.replace(/[^\n]/g, ' ');
  const text = source.replace(/\/\*[\s\S]*?\*\//g, blank).replace(/^\s*\/\/.*$/gm, blank);
  const consts = new Map();
  for (const m of text.matchAll(/\bconst\s+(\w+)\s*=\s*(['"`])([^'"`]*)\2/g)) consts.set(m[1], m[3]);
  const lines = [];
  for (const m of text.matchAll(/\bCREATE\s+(TEMPORARY\s+)?TABLE\b/gi)) {
    const before = text.slice(0, m.index);
    const quote = ['`', "'", '"'].reduce((q, c) => (before.lastIndexOf(c) > before.lastIndexOf(q) ? c : q), '`');
    let end = m.index;
    while (end < text.length && text[end] !== quote) {
      if (quote === '`' && text.startsWith('${', end)) end = text.indexOf('}', end);
      else if (text[end] === '\\') end++;
      end++;
    }
    const statement = text.slice(m.index, end).replace(/\$\{\s*(\w+)\s*\}/g, (x, name) => consts.get(name) ?? x);
    if (!/\bCOLLATE\s*=?\s*utf8mb4_unicode_ci\b/i.test(statement)) lines.push(before.split('\n').length - 1);
  }
  return lines;
}

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(entry.name)) yield full;
  }
}

let violations = 0;
for (const top of ['apps', 'libs']) {
  for (const file of files(path.join(root, top))) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const rule of rules) {
      if (rule.allowed.some((re) => re.test(rel))) continue;
      if (rule.only && !rule.only.some((re) => re.test(rel))) continue;
      const offending = rule.offending
        ? rule.offending(lines.join('\n'))
        : lines.flatMap((line, i) => (rule.pattern.test(line) ? [i] : []));
      for (const i of offending) {
        violations++;
        console.log(`  error ${rule.name}: ${rel}:${i + 1}: ${lines[i].trim().slice(0, 160)}`);
      }
    }
  }
}

if (violations > 0) {
  console.log(`\nx ${violations} rule violation(s):`);
  for (const rule of rules) console.log(`  ${rule.name}: ${rule.why}`);
  process.exit(1);
}
console.log(`✔ ${rules.length} source rules hold (${rules.map((r) => r.name).join(', ')})`);
