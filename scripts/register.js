// Lets every app, script and benchmark run straight from TypeScript sources: `node -r ./scripts/register.js x.ts`.
// Each .ts file is transpiled on load by swc (a native compiler: no TypeScript compiler held in the
// process, which kept ~55 MB of every app's memory under ts-node), file by file as tsc's
// transpile-only mode does, with the settings of tsconfig.json that change the emitted code
// (CommonJS, ES2022, legacy decorators with their design-time metadata, which Nest's injection reads).
// `npm run typecheck` is where types are checked. Stack traces point at the TypeScript lines.
const fs = require('fs');
const Module = require('module');
const path = require('path');
const { transformSync } = require('@swc/core');

const root = path.join(__dirname, '..');
const tsconfig = require(path.join(root, 'tsconfig.json')).compilerOptions;
if (tsconfig.module !== 'commonjs' || tsconfig.target !== 'ES2022' || !tsconfig.experimentalDecorators || !tsconfig.emitDecoratorMetadata)
  throw new Error('scripts/register.js: tsconfig.json changed what the emitted code is; change the swc options here to match');

const options = {
  swcrc: false,
  configFile: false,
  sourceMaps: 'inline',
  module: { type: 'commonjs', strictMode: true, importInterop: 'swc' },
  jsc: {
    parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
    target: 'es2022',
    keepClassNames: true,
    // ES2022 with TypeScript's default for it: class fields are defined (useDefineForClassFields).
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
  },
};

process.setSourceMapsEnabled(true);
const jsLoader = Module._extensions['.js'];
Module._extensions['.ts'] = function loadTypeScript(module, filename) {
  if (filename.includes(`${path.sep}node_modules${path.sep}`)) return jsLoader(module, filename);
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { ...options, filename });
  module._compile(code, filename);
};

require('tsconfig-paths').register({
  baseUrl: root,
  paths: { '@hotline/crypto/*': ['libs/crypto/src/*'], '@hotline/calls/*': ['libs/calls/src/*'], '@hotline/*': ['libs/*/src'] },
});
