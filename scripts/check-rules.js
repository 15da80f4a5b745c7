#!/usr/bin/env node
/**
 * The rules an import graph cannot express (dependency-cruiser checks the rest: .dependency-cruiser.js).
 *   1. Only libs/calls (and the migrations) names the call tables in SQL.
 *   2. Only libs/crypto decrypts: no other file calls a decipher.
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
];

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
      lines.forEach((line, i) => {
        if (!rule.pattern.test(line)) return;
        violations++;
        console.log(`  error ${rule.name}: ${rel}:${i + 1}: ${line.trim().slice(0, 160)}`);
      });
    }
  }
}

if (violations > 0) {
  console.log(`\nx ${violations} rule violation(s):`);
  for (const rule of rules) console.log(`  ${rule.name}: ${rule.why}`);
  process.exit(1);
}
console.log(`✔ ${rules.length} source rules hold (${rules.map((r) => r.name).join(', ')})`);
