#!/usr/bin/env node
/**
 * The largest production files and functions (`npm run -s sizes`): lines per file and per function
 * (functions, methods, arrow functions, constructors, accessors) under apps/ and libs/, specs,
 * migrations and the console's bundle output left out. Targets (issue 25): no file over 350 lines,
 * no function over 80. `--top N` lists N of each (default 10); `--json` prints them as JSON.
 */
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const FILE_TARGET = 350;
const FUNCTION_TARGET = 80;
const args = process.argv.slice(2);
const top = Number(args[args.indexOf('--top') + 1]) || 10;

function* sources(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'migrations'].includes(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (/\.(ts|tsx)$/.test(entry.name) && !/\.(spec|e2e-spec|d)\.tsx?$/.test(entry.name)) yield full;
  }
}

const files = [];
const functions = [];
for (const top of ['apps', 'libs']) {
  for (const file of sources(path.join(root, top))) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const text = fs.readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    files.push({ file: rel, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
    const visit = (node, owner) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : ts.isConstructorDeclaration(node) ? 'constructor' : '(anonymous)';
        functions.push({ file: rel, line: start + 1, name: owner ? `${owner}.${name}` : name, lines: end - start + 1 });
      }
      const nextOwner = ts.isClassDeclaration(node) && node.name ? node.name.text : owner;
      ts.forEachChild(node, (child) => visit(child, nextOwner));
    };
    visit(sf, '');
  }
}
files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
const over = { files: files.filter((f) => f.lines > FILE_TARGET).length, functions: functions.filter((f) => f.lines > FUNCTION_TARGET).length };
if (args.includes('--json')) {
  console.log(JSON.stringify({ files: files.slice(0, top), functions: functions.slice(0, top), over }, null, 2));
} else {
  console.log(`Largest files (${files.length} production files; ${over.files} over ${FILE_TARGET} lines):`);
  for (const f of files.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
  console.log(`Largest functions (${functions.length}; ${over.functions} over ${FUNCTION_TARGET} lines):`);
  for (const f of functions.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  ${f.file}:${f.line}`);
}
