/**
 * Dependency rules of the monorepo (`npm run deps`; `.ci/run` fails on any of them).
 * What an import graph cannot show (which file names a table in SQL, which file calls a
 * decipher) is checked by scripts/check-rules.js, run by the same npm script.
 */
const CIPHER_INTERNALS = '^libs/crypto/src/(content-cipher\\.service|envelope|keystore\\.service)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'app-imports-app',
      severity: 'error',
      comment: 'An app never imports another app: what two apps share lives in a lib.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'lib-imports-app',
      severity: 'error',
      comment: 'A lib never imports an app: libs are the lower layer.',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles (type-only imports are erased at run time and do not count).',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'cipher-internals-only-in-crypto',
      severity: 'error',
      comment:
        'Only libs/crypto decrypts: the envelope, the content cipher and the keystore are imported directly by ' +
        'libs/crypto alone; everything else goes through an entry point of @hotline/crypto.',
      from: { path: '^(apps|libs)/', pathNot: '^libs/crypto/' },
      to: { path: CIPHER_INTERNALS },
    },
    {
      name: 'gateway-never-reaches-cipher',
      severity: 'error',
      comment:
        'The gateway holds no content keys: nothing it imports, directly or through any chain of imports ' +
        '(type-only included), reaches the content cipher, the envelope or the keystore.',
      from: { path: '^apps/gateway/' },
      to: { path: CIPHER_INTERNALS, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
