/**
 * The routing state machine's Lua scripts, one `.lua` file each in ./lua (read the header of
 * lua/prelude.lua first: the keys, the call states, and how scripts reach keys).
 *
 * Each file opens with comment lines that this loader reads:
 *   -- KEYS: call op waiting ...   the keys the script is given, by name, in order (see ROUTING_KEYS)
 *   -- ARGV: callId opId now ...   its arguments, by name; a key of one call, operator, CallSid, day
 *                                  or node takes its id from the argument named in KEY_ID_ARG
 * A script is run as prelude.lua + `bind{<KEYS names>}` + the file, defined on the connection with
 * ioredis `defineCommand` (numberOfKeys = the KEYS line's length).
 *
 * The files are read once, from beside this module: in the sources (`node -r ./scripts/register.js`,
 * jest) and in dist/ after `npm run build`, which copies them (scripts/copy-assets.js).
 */
import { readFileSync } from 'fs';
import { join } from 'path';

export const ROUTING_LUA_DIR = join(__dirname, 'lua');

/** The shared functions every script is prefixed with. */
export const ROUTING_PRELUDE = 'prelude';

export const ROUTING_SCRIPTS = [
  'enqueue',
  'match',
  'accept',
  'connected',
  'requeueMissed',
  'connectFailed',
  'decline',
  'sweep',
  'callStatus',
  'operatorConnected',
  'operatorDisconnected',
  'heartbeat',
  'leave',
  'setStatus',
  'wrapUpDone',
  'transferCold',
  'transferReserve',
  'transferHandover',
  'transferRelease',
] as const;

export type RoutingScript = (typeof ROUTING_SCRIPTS)[number];

/** Keys of which there is one per prefix: P..name. */
export const SHARED_ROUTING_KEYS = ['waiting', 'live', 'available', 'offers', 'grace', 'ops', 'nodes'] as const;

/** Keys of one call, operator, CallSid, day or node (P..name..':'..id), and the argument that holds the id. */
export const KEY_ID_ARG = {
  call: 'callId',
  op: 'opId',
  sid: 'callSid',
  seq: 'callSid',
  stats: 'day',
  node: 'node',
  nconns: 'node',
} as const;

export type RoutingKeyName = (typeof SHARED_ROUTING_KEYS)[number] | keyof typeof KEY_ID_ARG;

export const ROUTING_KEYS: readonly RoutingKeyName[] = [
  ...SHARED_ROUTING_KEYS,
  ...(Object.keys(KEY_ID_ARG) as (keyof typeof KEY_ID_ARG)[]),
];

export interface RoutingScriptSource {
  name: RoutingScript;
  /** The `-- KEYS:` line: what KEYS[1..n] are. */
  keys: RoutingKeyName[];
  /** The `-- ARGV:` line's names (a trailing `[...]...` part, variable arguments, left out). */
  argv: string[];
  /** The file as written. */
  body: string;
  /** What Redis runs: prelude, key binding, body. */
  lua: string;
}

/**
 * Redis Cluster's hash tag of a key: what lies between the first `{` and the next `}`, if that is
 * not empty. Keys with the same tag hash to the same slot.
 */
export function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

/** A prefix is safe in key names and holds a hash tag, so that every routing key shares one slot. */
export function checkRoutingPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9:{}_-]+$/.test(prefix)) throw new Error('routing prefix may hold letters, digits and : { } _ - only');
  if (hashTag(prefix) === null)
    throw new Error('routing prefix must hold a hash tag, e.g. hl:{rt}: (one Redis Cluster slot for every routing key)');
}

/** The KEYS of one run of a script under a prefix, from its arguments (in the order of its ARGV line). */
export function routingKeys(
  script: Pick<RoutingScriptSource, 'name' | 'keys' | 'argv'>,
  prefix: string,
  args: readonly (string | number)[],
): string[] {
  return script.keys.map((name) => {
    if (!(name in KEY_ID_ARG)) return prefix + name;
    const id = args[script.argv.indexOf(KEY_ID_ARG[name as keyof typeof KEY_ID_ARG])];
    if (id === undefined) throw new Error(`routing script ${script.name}: no id for key ${name}`);
    return `${prefix}${name}:${id}`;
  });
}

function headerLine(body: string, label: 'KEYS' | 'ARGV', file: string): string[] {
  const m = new RegExp(`^-- ${label}:(.*)$`, 'm').exec(body);
  if (!m) throw new Error(`${file}: no "-- ${label}:" line`);
  const words: string[] = [];
  for (const w of m[1].trim().split(/\s+/)) {
    if (w.startsWith('[')) break;
    if (w) words.push(w);
  }
  return words;
}

function parse(name: RoutingScript, body: string, prelude: string, file: string): RoutingScriptSource {
  const keys = headerLine(body, 'KEYS', file) as RoutingKeyName[];
  const argv = headerLine(body, 'ARGV', file);
  for (const k of keys) {
    if (!ROUTING_KEYS.includes(k)) throw new Error(`${file}: unknown key ${k}`);
    if (k in KEY_ID_ARG && !argv.includes(KEY_ID_ARG[k as keyof typeof KEY_ID_ARG]))
      throw new Error(`${file}: key ${k} needs argument ${KEY_ID_ARG[k as keyof typeof KEY_ID_ARG]}`);
  }
  if (new Set(keys).size !== keys.length) throw new Error(`${file}: a key named twice`);
  if (!keys.some((k) => (SHARED_ROUTING_KEYS as readonly string[]).includes(k)))
    throw new Error(`${file}: needs one of ${SHARED_ROUTING_KEYS.join(' ')} (the prefix is read from it)`);
  const lua = `${prelude}\nbind({${keys.map((k) => `'${k}'`).join(', ')}})\n${body}`;
  return { name, keys, argv, body, lua };
}

let loaded: Record<RoutingScript, RoutingScriptSource> | undefined;

/** Every routing script, read from its .lua file (once; a missing or malformed file throws). */
export function loadRoutingScripts(dir = ROUTING_LUA_DIR): Record<RoutingScript, RoutingScriptSource> {
  if (dir === ROUTING_LUA_DIR && loaded) return loaded;
  const read = (name: string) => readFileSync(join(dir, `${name}.lua`), 'utf8');
  const prelude = read(ROUTING_PRELUDE);
  const out = {} as Record<RoutingScript, RoutingScriptSource>;
  for (const name of ROUTING_SCRIPTS) out[name] = parse(name, read(name), prelude, `${name}.lua`);
  if (dir === ROUTING_LUA_DIR) loaded = out;
  return out;
}

/** The scripts, after checking the prefix they will run under. */
export function routingScripts(prefix: string): Record<RoutingScript, RoutingScriptSource> {
  checkRoutingPrefix(prefix);
  return loadRoutingScripts();
}
