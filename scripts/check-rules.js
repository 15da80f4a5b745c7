#!/usr/bin/env node
/**
 * The rules an import graph cannot express (dependency-cruiser checks the rest: .dependency-cruiser.js).
 *   1. Each table is named in SQL only by the lib that owns it (scripts/table-owners.js) and the
 *      migrations. SQL is read as SQL: any case, any line breaks, backquoted names, in every string
 *      and template literal (comments and prose outside literals do not count).
 *   2. Only libs/crypto decrypts: no other file calls a decipher.
 *   3. Every CREATE TABLE of a migration states COLLATE utf8mb4_unicode_ci (a table that takes the
 *      database's default cannot be compared with the others on a database made with another one).
 * Scans the TypeScript and JavaScript under apps/, libs/, scripts/ and bench/ (not node_modules or
 * dist) of the repository, or of the directory given as the first argument or CHECK_RULES_ROOT
 * (the rules' own test runs it on a temporary layout); prints each offending line and exits 1.
 */
const fs = require('fs');
const path = require('path');
const { OWNER_OF_TABLE } = require('./table-owners');

const root = path.resolve(process.argv[2] || process.env.CHECK_RULES_ROOT || path.join(__dirname, '..'));
const MIGRATIONS = /^libs\/persistence\/src\/migrations\//;

const rules = [
  {
    name: 'table-owned-by-another-lib',
    why: 'a table is named in SQL only by its owning lib (scripts/table-owners.js) and the migrations: call a method of the owner',
    allowed: [MIGRATIONS],
    offending: tablesOfOtherLibs,
  },
  {
    name: 'decrypt-only-in-libs-crypto',
    why: 'only libs/crypto may decrypt (createDecipheriv and the like)',
    pattern: /\b(createDecipheriv|createDecipher|privateDecrypt|publicDecrypt)\b|\bsubtle\.decrypt\b/,
    allowed: [/^libs\/crypto\//, /^scripts\/check-rules\.js$/],
  },
  {
    name: 'tables-state-their-collation',
    why: 'every CREATE TABLE of a migration states COLLATE utf8mb4_unicode_ci (never the database default: README "Running for real")',
    only: [MIGRATIONS],
    // Applied as it was, stating none: records/1764000001800-CollationRepair.ts converts its tables.
    allowed: [/^libs\/persistence\/src\/migrations\/records\/1764000001400-CallsAsConferences\.ts$/],
    offending: createTablesWithoutCollation,
  },
];

/**
 * The string literals of a JavaScript or TypeScript source: each quoted string and each text part
 * of a template literal (between its `${...}`), with the offset where it starts. Comments and
 * regular expression literals are skipped; the code inside `${...}` is read as code.
 */
function stringLiterals(src) {
  const out = [];
  const templates = []; // for each open `${`, the depth of braces opened inside it
  let i = 0;
  let prev = ''; // the last significant character or word (tells a regex literal from a division)
  const template = (from) => {
    let j = from;
    while (j < src.length && src[j] !== '`' && !src.startsWith('${', j)) j += src[j] === '\\' ? 2 : 1;
    out.push({ start: from, text: unescaped(src.slice(from, j)) });
    if (src.startsWith('${', j)) {
      templates.push(0);
      return j + 2;
    }
    return j + 1;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '/') {
      const e = src.indexOf('\n', i);
      i = e < 0 ? src.length : e;
    } else if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? src.length : e + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      out.push({ start: i + 1, text: unescaped(src.slice(i + 1, j)) });
      i = j + 1;
      prev = c;
    } else if (c === '`') {
      i = template(i + 1);
      prev = '`';
    } else if (c === '}' && templates.length && templates[templates.length - 1] === 0) {
      templates.pop();
      i = template(i + 1);
      prev = '`';
    } else if (
      c === '/' &&
      (prev === '' || /[(,=:[!&|?{};+\-*%<>~^]$/.test(prev) || /^(return|typeof|case|in|of|delete|void|throw|new|yield|await)$/.test(prev))
    ) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n' && (inClass || src[j] !== '/')) {
        if (src[j] === '\\') j++;
        else if (src[j] === '[') inClass = true;
        else if (src[j] === ']') inClass = false;
        j++;
      }
      i = j + 1;
      prev = 'regex';
    } else {
      if (templates.length && c === '{') templates[templates.length - 1]++;
      if (templates.length && c === '}') templates[templates.length - 1]--;
      const word = /^[A-Za-z_$][\w$]*/.exec(src.slice(i, i + 64));
      if (word) {
        prev = word[0];
        i += word[0].length;
      } else {
        if (!/\s/.test(c)) prev = c;
        i++;
      }
    }
  }
  return out;
}

/** A literal's escaped line breaks and tabs read as the white space they are (as long as they were: offsets kept). */
function unescaped(text) {
  return text.replace(/\\[nrtv]/g, '  ');
}

/**
 * SQL's ways of naming a table: FROM (DELETE FROM too), JOIN, INTO, UPDATE, TABLE and TABLES, in any
 * case, followed by any whitespace and the name, backquoted or not, perhaps after a database name.
 */
const TABLE_AFTER_KEYWORD = /\b(from|join|into|update|table|tables)\b(?=\s+\\?`?(?:\w+\\?`?\.\\?`?)?(\w+)(?![\w-]))/gi;

/** The lines of `source` (file `rel`) whose SQL names a table that another lib owns, with why. */
function tablesOfOtherLibs(source, rel) {
  const found = [];
  for (const literal of stringLiterals(source)) {
    for (const m of literal.text.matchAll(TABLE_AFTER_KEYWORD)) {
      const table = m[2].toLowerCase();
      const owner = OWNER_OF_TABLE.get(table);
      if (!owner || rel.startsWith(owner + '/')) continue;
      const line = source.slice(0, literal.start + m.index).split('\n').length - 1;
      found.push({ line, why: `${table} belongs to ${owner}` });
    }
  }
  return found;
}

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
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(entry.name)) yield full;
  }
}

let violations = 0;
for (const top of ['apps', 'libs', 'scripts', 'bench']) {
  for (const file of files(path.join(root, top))) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const source = fs.readFileSync(file, 'utf8');
    const lines = source.split('\n');
    for (const rule of rules) {
      if (rule.allowed.some((re) => re.test(rel))) continue;
      if (rule.only && !rule.only.some((re) => re.test(rel))) continue;
      const offending = rule.offending
        ? rule.offending(source, rel).map((o) => (typeof o === 'number' ? { line: o } : o))
        : lines.flatMap((line, i) => (rule.pattern.test(line) ? [{ line: i }] : []));
      for (const { line, why } of offending) {
        violations++;
        console.log(`  error ${rule.name}: ${rel}:${line + 1}: ${why ? `${why}: ` : ''}${lines[line].trim().slice(0, 160)}`);
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
