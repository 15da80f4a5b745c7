import { readFileSync, readdirSync, statSync } from 'fs';
import { join, relative } from 'path';
import { routeKinds, routeParams, webhookFixture } from '../support/twilio-contract';

/**
 * The gateway reads no Twilio parameter that Twilio does not document for the request it handles
 * (issue 23). A static scan of the gateway's webhook code: each `/twilio/*` route of a controller,
 * the service method it hands Twilio's parameters to, the methods of that class it calls, and the
 * objects it hands the parameters on to (e.g. libs/routing CallerLocations.keep). Every read of a
 * Twilio parameter there (`params.X`, `str(params.X)`, `params['X']`, destructuring, a local
 * accessor such as `pick('X')`) must be a parameter test/fixtures/twilio-webhooks.json lists for the
 * kind(s) of request that route receives. Query parameters of our own URLs (`query.c`...) are ours,
 * not Twilio's: an argument named `query` (or bound by `@Query()`) is left out. A use of the
 * parameters the scan cannot follow fails too, so that the scan is extended rather than bypassed.
 */
const ROOT = join(__dirname, '..', '..');
const SCANNED = ['apps/gateway/src', ...readdirSync(join(ROOT, 'libs')).map((l) => `libs/${l}/src`)];

type Source = (rel: string) => string;

interface Method {
  file: string;
  cls: string;
  name: string;
  /** Index in the file where the method starts, where its body starts, and where it ends. */
  start: number;
  open: number;
  end: number;
  /** Its arguments' names, in order. */
  args: string[];
  /** As a route handler: the names of its arguments that hold Twilio's parameters (`@Body()`, not `@Query()`). */
  posted: string[];
}

export interface Finding {
  file: string;
  line: number;
  where: string;
  problem: string;
}

export interface Scan {
  /** route -> parameter -> where it is read. */
  reads: Map<string, Map<string, string[]>>;
  findings: Finding[];
  routes: string[];
}

const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'function', 'await', 'new', 'typeof', 'super']);

function tsFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  return readdirSync(abs).flatMap((f) => {
    const p = join(abs, f);
    if (statSync(p).isDirectory()) return tsFiles(relative(ROOT, p));
    return f.endsWith('.ts') && !f.endsWith('.spec.ts') ? [relative(ROOT, p)] : [];
  });
}

/** The text with the insides of '...' and "..." strings blanked (same length): parentheses in them do not count. */
function blankStrings(text: string): string {
  return text.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, (s) => s[0] + ' '.repeat(s.length - 2) + s[0]);
}

/** The classes of a file and their methods (members at two spaces of indentation). */
function methodsOf(file: string, text: string): Method[] {
  const methods: Method[] = [];
  const classes = [...text.matchAll(/^(?:export\s+)?(?:abstract\s+)?class\s+(\w+)/gm)].map((m) => ({ name: m[1], at: m.index! }));
  const member = /^ {2}(?:(?:private|public|protected|static|async|readonly|override|get|set)\s+)*(\w+)\s*(?:<[^>\n]*>)?\(/gm;
  const blanked = blankStrings(text);
  for (const m of text.matchAll(member)) {
    if (KEYWORDS.has(m[1])) continue;
    const cls = [...classes].reverse().find((c) => c.at < m.index!);
    if (!cls) continue;
    // The argument list runs to its closing parenthesis; the body starts at the next brace.
    const argsFrom = m.index! + m[0].length;
    let i = argsFrom;
    for (let depth = 1; i < text.length && depth > 0; i++) depth += blanked[i] === '(' ? 1 : blanked[i] === ')' ? -1 : 0;
    const args = splitTopLevel(blanked.slice(argsFrom, i - 1)).map((a) => {
      const arg = text.slice(argsFrom + a.from, argsFrom + a.to).trim();
      const named = /^(@(\w+)\([^)]*\)\s*)?(?:(?:private|public|protected|readonly)\s+)*(\w+)/.exec(arg);
      return { name: named?.[3] ?? '', decorator: named?.[2] ?? '' };
    });
    const open = text.indexOf('{', i);
    methods.push({
      file,
      cls: cls.name,
      name: m[1],
      start: m.index!,
      open: open + 1,
      end: text.length,
      args: args.map((a) => a.name),
      posted: args.filter((a) => a.decorator === 'Body').map((a) => a.name),
    });
  }
  methods.sort((a, b) => a.start - b.start);
  methods.forEach((m, i) => {
    const next = methods[i + 1];
    const classEnd = /^\}/m.exec(text.slice(m.open));
    m.end = Math.min(next ? next.start : text.length, classEnd ? m.open + classEnd.index : text.length);
  });
  return methods;
}

/** The top-level comma-separated parts of an argument list (brackets of any kind nest). */
function splitTopLevel(list: string): { from: number; to: number }[] {
  const parts: { from: number; to: number }[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if ('([{<'.includes(c)) depth++;
    else if (')]}>'.includes(c) && !(c === '>' && list[i - 1] === '=')) depth--;
    else if (c === ',' && depth === 0) {
      parts.push({ from, to: i });
      from = i + 1;
    }
  }
  if (list.slice(from).trim()) parts.push({ from, to: list.length });
  return parts;
}

/**
 * The call whose argument list holds position `at` (its innermost unclosed parenthesis): what is called
 * (`this.x.y`, `this.y`, `name`) and which argument `at` is in.
 */
function callAt(blanked: string, from: number, at: number): { callee: string; arg: number } | null {
  let depth = 0;
  for (let i = at - 1; i >= from; i--) {
    const c = blanked[i];
    if (c === ')' || c === ']' || c === '}') depth++;
    else if (c === '(' || c === '[' || c === '{') {
      if (depth > 0) {
        depth--;
        continue;
      }
      if (c !== '(') return null;
      const callee = /((?:this\.)?[\w.]*\w)\s*$/.exec(blanked.slice(Math.max(from, i - 120), i))?.[1];
      if (!callee) return null;
      return { callee, arg: splitTopLevel(blanked.slice(i + 1, at) + 'x').length - 1 };
    }
  }
  return null;
}

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

/**
 * Scans the gateway's webhook code. `source` reads a file (relative to the repository); a test may
 * give a changed text to see that the scan catches a change.
 */
export function scanWebhookReads(source: Source = (rel) => readFileSync(join(ROOT, rel), 'utf8')): Scan {
  const findings: Finding[] = [];
  const reads = new Map<string, Map<string, string[]>>();
  const files = SCANNED.flatMap((d) => tsFiles(d));
  const texts = new Map<string, string>();
  const text = (f: string) => texts.get(f) ?? (texts.set(f, source(f)), texts.get(f)!);
  // Which file defines each class (the objects Twilio's parameters may be handed to).
  const classFile = new Map<string, string>();
  for (const f of files) for (const m of text(f).matchAll(/^export\s+(?:abstract\s+)?class\s+(\w+)/gm)) classFile.set(m[1], f);
  const methodCache = new Map<string, Method[]>();
  const methods = (f: string) => methodCache.get(f) ?? (methodCache.set(f, methodsOf(f, text(f))), methodCache.get(f)!);
  /** The type of each constructor field of a class (`private readonly flow: CallFlowService`). */
  const fields = (file: string, cls: string): Map<string, string> => {
    const ctor = methods(file).find((m) => m.cls === cls && m.name === 'constructor');
    const t = ctor ? text(file).slice(ctor.start, ctor.open) : '';
    return new Map([...t.matchAll(/(?:private|public|protected)\s+(?:readonly\s+)?(\w+)\s*:\s*(\w+)/g)].map((m) => [m[1], m[2]]));
  };
  const find = (file: string, cls: string, name: string) => methods(file).find((m) => m.cls === cls && m.name === name);

  // 1. The routes: each `/twilio/*` handler of a controller.
  const routes: { route: string; method: Method }[] = [];
  for (const f of files.filter((f) => f.startsWith('apps/gateway/src/'))) {
    const t = text(f);
    if (!t.includes('@Controller(')) continue;
    const controllers = [...t.matchAll(/@Controller\((?:'([^']*)')?\)[\s\S]*?class\s+(\w+)/g)].map((m) => ({
      prefix: m[1] ?? '',
      cls: m[2],
      at: m.index!,
    }));
    for (const h of t.matchAll(/@(?:Post|Get|Put|All)\((?:'([^']*)')?\)[\s\S]*?\n {2}(?:async\s+)?(\w+)\(/g)) {
      const c = [...controllers].reverse().find((x) => x.at < h.index!);
      if (!c) continue;
      const route = '/' + [c.prefix, h[1]].filter(Boolean).join('/');
      if (!route.startsWith('/twilio/')) continue;
      const method = find(f, c.cls, h[2]);
      if (method) routes.push({ route, method });
    }
  }

  // 2. From each handler, every method Twilio's parameters reach, with the names they go by there.
  for (const { route, method: handler } of routes) {
    const allowed = routeParams(route);
    const kinds = routeKinds(route)?.join(' or ') ?? 'no kind';
    const read = (m: Method, param: string, index: number) => {
      const where = `${m.file}:${lineAt(text(m.file), index)} ${m.cls}.${m.name}`;
      const byParam = reads.get(route) ?? (reads.set(route, new Map()), reads.get(route)!);
      byParam.set(param, [...(byParam.get(param) ?? []), where]);
      if (allowed && !allowed.has(param))
        findings.push({
          file: m.file,
          line: lineAt(text(m.file), index),
          where: `${m.cls}.${m.name}`,
          problem: `reads ${param}, which Twilio does not document for ${route} (${kinds})`,
        });
    };
    const seen = new Set<string>();
    /** A method Twilio's parameters reach, as its arguments at positions `held`. */
    const visit = (m: Method, held: number[]) => {
      const key = `${m.file} ${m.cls}.${m.name} ${held.join(',')}`;
      if (seen.has(key)) return;
      seen.add(key);
      const t = text(m.file);
      const blanked = blankStrings(t);
      const body = t.slice(m.open, m.end);
      for (const id of held.map((i) => m.args[i]).filter(Boolean)) {
        const consumed = new Set<number>();
        // Local accessors: `const pick = (k: string) => ... params[k] ...`, read as `pick('FromCity')`.
        for (const a of body.matchAll(new RegExp(`const (\\w+) = \\((\\w+)[^)]*\\)\\s*=>[^\\n]*`, 'g'))) {
          if (!new RegExp(`\\b${id}\\[${a[2]}\\]`).test(a[0])) continue;
          for (const o of a[0].matchAll(new RegExp(`\\b${id}\\b`, 'g'))) consumed.add(m.open + a.index! + o.index!);
          for (const r of body.matchAll(new RegExp(`\\b${a[1]}\\(\\s*'(\\w+)'\\s*\\)`, 'g'))) read(m, r[1], m.open + r.index!);
        }
        // Destructuring: `const { CallSid, From } = params`.
        for (const d of body.matchAll(new RegExp(`\\{([^{}]*)\\}\\s*=\\s*${id}\\b`, 'g'))) {
          consumed.add(m.open + d.index! + d[0].length - id.length);
          for (const part of d[1]
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean)) {
            if (part.startsWith('...'))
              unfollowed(m, m.open + d.index!, `takes the rest of ${id} (...${part.slice(3)}): the scan cannot tell what is read`);
            else read(m, part.split(/[:=]/)[0].trim(), m.open + d.index!);
          }
        }
        for (const o of body.matchAll(new RegExp(`(?<![\\w.])${id}\\b`, 'g'))) {
          const at = m.open + o.index!;
          if (consumed.has(at)) continue;
          const after = t.slice(at + id.length);
          const dot = /^!?\s*\??\.\s*(\w+)/.exec(after);
          if (dot) {
            read(m, dot[1], at);
            continue;
          }
          if (/^!?\s*(?:\?\.)?\[/.test(after)) {
            const literal = /^!?\s*(?:\?\.)?\[\s*(?:'([^']*)'|"([^"]*)")\s*\]/.exec(after);
            if (literal) read(m, literal[1] ?? literal[2], at);
            else unfollowed(m, at, `reads ${id}[...] with a computed key: the scan cannot tell which parameter`);
            continue;
          }
          // Handed on, whole (`id` or `id ?? {}` as an argument): to a method of this class or of another object.
          const call = callAt(blanked, m.open, at);
          const whole = /^\s*(?:\?\?\s*\{\s*\}\s*)?[,)]/.test(blanked.slice(at + id.length));
          const own = whole && call && /^this\.(\w+)$/.exec(call.callee);
          const ownTarget = own && find(m.file, m.cls, own[1]);
          if (ownTarget) {
            visit(ownTarget, [call!.arg]);
            continue;
          }
          const other = whole && call && /^this\.(\w+)\.(\w+)$/.exec(call.callee);
          const cls = other && fields(m.file, m.cls).get(other[1]);
          const file = cls && classFile.get(cls);
          const target = file && find(file, cls!, other![2]);
          if (target) {
            visit(target, [call!.arg]);
            continue;
          }
          unfollowed(m, at, `uses ${id} in a way the scan cannot follow${call ? ` (${call.callee}(...))` : ''}`);
        }
      }
    };
    const unfollowed = (m: Method, index: number, problem: string) =>
      findings.push({ file: m.file, line: lineAt(text(m.file), index), where: `${m.cls}.${m.name}`, problem: `${problem}, for ${route}` });
    visit(
      handler,
      handler.posted.map((name) => handler.args.indexOf(name)),
    );
  }

  // 3. Every route is in the fixture, and the fixture has no route the gateway does not serve.
  const served = new Set(routes.map((r) => r.route));
  for (const { route, method } of routes)
    if (!routeKinds(route))
      findings.push({
        file: method.file,
        line: lineAt(text(method.file), method.start),
        where: `${method.cls}.${method.name}`,
        problem: `serves ${route}, which twilio-webhooks.json does not classify`,
      });
  for (const route of Object.keys(webhookFixture().routes))
    if (!served.has(route))
      findings.push({
        file: 'test/fixtures/twilio-webhooks.json',
        line: 0,
        where: 'routes',
        problem: `${route} is not a route of the gateway`,
      });
  return { reads, findings, routes: [...served].sort() };
}

const show = (f: Finding) => `${f.file}:${f.line} ${f.where} ${f.problem}`;

describe('the gateway reads no Twilio parameter Twilio does not document for the request', () => {
  const scan = scanWebhookReads();

  it('finds every /twilio/* route of the gateway, each classified in twilio-webhooks.json', () => {
    expect(scan.routes).toEqual(Object.keys(webhookFixture().routes).sort());
    expect(scan.routes.length).toBeGreaterThanOrEqual(26);
  });

  it('reads, for each route, only parameters Twilio documents for it', () => {
    expect(scan.findings.map(show)).toEqual([]);
  });

  it('sees the reads it is meant to see (a scan that finds nothing proves nothing)', () => {
    const readAt = (route: string) => [...(scan.reads.get(route)?.keys() ?? [])].sort();
    expect(readAt('/twilio/voice/consent')).toEqual(
      expect.arrayContaining(['CallSid', 'Digits', 'From', 'FromCity', 'FromCountry', 'FromState', 'FromZip']),
    );
    expect(readAt('/twilio/voice/status')).toEqual(expect.arrayContaining(['CallSid', 'CallStatus', 'SequenceNumber']));
    expect(readAt('/twilio/voice/overflow/left')).toEqual(expect.arrayContaining(['CallSid', 'QueueResult']));
    expect(readAt('/twilio/voice/privacy/confirm')).toEqual(expect.arrayContaining(['CallSid', 'Digits', 'From']));
    expect(readAt('/twilio/conference/status')).toEqual(
      expect.arrayContaining(['CallSid', 'ConferenceSid', 'FriendlyName', 'ParticipantLabel', 'SequenceNumber', 'StatusCallbackEvent']),
    );
    expect(readAt('/twilio/sms/status')).toEqual(expect.arrayContaining(['MessageSid', 'MessageStatus']));
    // Our own query parameters are not Twilio's.
    for (const [, params] of scan.reads) for (const p of ['c', 'o', 'r', 'q', 't', 'n', 'a', 'i', 's']) expect(params.has(p)).toBe(false);
  });

  /** The real tree with `change` applied to one file; the change must apply. */
  const scanWith = (rel: string, change: (text: string) => string) =>
    scanWebhookReads((f) => {
      const real = readFileSync(join(ROOT, f), 'utf8');
      if (f !== rel) return real;
      const changed = change(real);
      if (changed === real) throw new Error(`the test's change to ${rel} no longer applies: update the test`);
      return changed;
    });
  /** A line put first in a method's body. */
  const atStartOf = (method: string, line: string) => (text: string) =>
    text.replace(new RegExp(`(\\n {2}(?:async )?${method}\\([^{]*\\{\\n)`), `$1    ${line}\n`);
  const added = (changed: Scan) => changed.findings.map(show).filter((f) => !scan.findings.map(show).includes(f));

  it('would catch a made-up read, naming the file, the parameter and the route', () => {
    const service = scanWith('apps/gateway/src/telephony/call-flow.service.ts', atStartOf('dialled', "void str(params['CallerMood']);"));
    expect(added(service)).toEqual([
      expect.stringMatching(
        /^apps\/gateway\/src\/telephony\/call-flow\.service\.ts:\d+ CallFlowService\.dialled reads CallerMood, which Twilio does not document for \/twilio\/voice\/dialled \(dial-action\)$/,
      ),
    ]);
    const controller = scanWith('apps/gateway/src/conference/conference.controller.ts', (t) =>
      atStartOf('holdMusic', 'void body.QueuePosition;')(t.replace('holdMusic(): string', 'holdMusic(@Body() body: TwilioParams): string')),
    );
    expect(added(controller)).toEqual([
      expect.stringMatching(
        /^apps\/gateway\/src\/conference\/conference\.controller\.ts:\d+ ConferenceController\.holdMusic reads QueuePosition, which Twilio does not document for \/twilio\/conference\/hold-music \(conference-wait-url or participant-hold-url or redirect\)$/,
      ),
    ]);
    // Through a lib the parameters are handed to (CallerLocations.keep, from the consent menu).
    const lib = scanWith('libs/routing/src/caller-location.ts', (t) => t.replace("pick('FromZip')", "pick('FromPostcode')"));
    expect(added(lib)).toEqual([
      expect.stringMatching(
        /^libs\/routing\/src\/caller-location\.ts:\d+ CallerLocations\.keep reads FromPostcode, which Twilio does not document for \/twilio\/voice\/consent/,
      ),
    ]);
  });

  it('fails a use of the parameters it cannot follow rather than passing it by', () => {
    const changed = scanWith(
      'apps/gateway/src/telephony/call-flow.service.ts',
      atStartOf('answered', 'void params[Object.keys(params)[0]];'),
    );
    expect(added(changed).join('\n')).toMatch(/CallFlowService\.answered reads params\[\.\.\.\] with a computed key/);
    const handed = scanWith('apps/gateway/src/telephony/call-flow.service.ts', atStartOf('status', 'void JSON.stringify(params);'));
    expect(added(handed)).toEqual([
      expect.stringMatching(
        /CallFlowService\.status uses params in a way the scan cannot follow \(JSON\.stringify\(\.\.\.\)\), for \/twilio\/voice\/status$/,
      ),
    ]);
  });
});
