/**
 * Dependency rules of the monorepo (`npm run deps`; `.ci/run` fails on any of them).
 * What an import graph cannot show (which file names a table in SQL, which file calls a
 * decipher) is checked by scripts/check-rules.js, run by the same npm script.
 */
const CIPHER_INTERNALS = '^libs/crypto/src/(content-cipher\\.service|envelope|keystore\\.service)\\.ts$';

/**
 * The gateway's call handling, one Nest module per folder, in layers from the bottom up
 * (docs/architecture.md): a folder imports only folders of the layers below its own, never one
 * of its own layer or above. The top-level files (bootstrap, the app and call-handling modules,
 * records-db) and the console folder sit above all of them.
 */
const GATEWAY_LAYERS = [
  ['webhooks', 'twiml', 'state', 'calls'],
  ['live'],
  ['routing'],
  ['conference', 'overflow', 'privacy'],
  ['telephony'],
  ['sockets', 'voice'],
];
const GATEWAY_FOLDERS = [...GATEWAY_LAYERS.flat(), 'console'];

function gatewayLayerRules() {
  return GATEWAY_LAYERS.map((layer, i) => ({
    name: `gateway-layer-${i}`,
    severity: 'error',
    comment:
      `The gateway's ${layer.join(', ')} import only what lies below them (${GATEWAY_LAYERS.slice(0, i).flat().join(', ') || 'nothing of the gateway'}), ` +
      'plus records-db; never a folder of their own layer or above (.dependency-cruiser.js GATEWAY_LAYERS).',
    from: { path: `^apps/gateway/src/(${layer.join('|')})/` },
    to: {
      path: `^apps/gateway/src/(${[...GATEWAY_LAYERS.slice(i).flat(), 'console'].join('|')})/|^apps/gateway/src/[^/]+\\.module\\.ts$|^apps/gateway/src/bootstrap\\.ts$`,
      pathNot: '^apps/gateway/src/$1/',
    },
  }));
}

module.exports = {
  forbidden: [
    ...gatewayLayerRules(),
    {
      name: 'gateway-folder-in-a-layer',
      severity: 'error',
      comment: 'Every folder of the gateway is a module in one of the layers of GATEWAY_LAYERS (or the console): place a new one there.',
      from: { path: '^apps/gateway/src/[^/]+/', pathNot: `^apps/gateway/src/(${GATEWAY_FOLDERS.join('|')})/` },
      to: {},
    },
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
