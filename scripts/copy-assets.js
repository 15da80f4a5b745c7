// `npm run build` step after tsc: copies the files the compiled code reads at run time but tsc does
// not emit (today the routing Lua scripts, libs/routing/src/lua/*.lua) into dist/, at the same
// relative path, so that code resolving them from __dirname finds them there too.
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const outDir = path.join(root, 'dist');
const EXTENSIONS = ['.lua'];

let copied = 0;
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(from);
    } else if (EXTENSIONS.includes(path.extname(entry.name))) {
      const to = path.join(outDir, path.relative(root, from));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
      copied++;
    }
  }
}
for (const top of ['apps', 'libs']) walk(path.join(root, top));
console.log(`copy-assets: ${copied} file(s) into ${path.relative(root, outDir)}/`);
