// Lets every app, script and benchmark run straight from TypeScript sources: `node -r ./scripts/register.js x.ts`.
// Transpile-only keeps start-up fast; `npm run typecheck` is where types are checked.
const path = require('path');
const root = path.join(__dirname, '..');
require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
require('tsconfig-paths').register({
  baseUrl: root,
  paths: { '@hotline/crypto/*': ['libs/crypto/src/*'], '@hotline/calls/*': ['libs/calls/src/*'], '@hotline/*': ['libs/*/src'] },
});
