import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { TEST_ID } from './test-config';

/**
 * The contract we did not write (issue 23). Our Twilio peer and the code under test otherwise share
 * one reading of Twilio; this checks both against Twilio's own words instead:
 *
 * - REST requests against Twilio's OpenAPI description of the 2010-04-01 API
 *   (test/fixtures/twilio-oai/twilio_api_v2010.json, vendored verbatim; see its README): the path
 *   matches a path template (path parameters against their `pattern`), the method exists for it,
 *   every form and query parameter is known, required ones are present, enums (through `$ref`, and
 *   for arrays their items, sent as repeated keys) are respected, booleans are `true`/`false`,
 *   integers are integers.
 * - Webhook parameters against test/fixtures/twilio-webhooks.json, written from Twilio's
 *   documentation: which parameters Twilio sends for each kind of request, and which kind(s) each
 *   `/twilio/*` route of the gateway receives.
 *
 * Each check can be recorded in a file of the run (`recordRestCheck`, `recordWebhookCheck`), emptied
 * by global-setup.ts, which the last suite (test/security/twilio-contract-last.e2e-spec.ts) reads to
 * report what was checked and fail on every problem. Problems name parameters, never a value that
 * could be a phone number, a code or a message. Relative imports only: global setup runs outside
 * jest's module mapping.
 */

const FIXTURES = join(__dirname, '..', 'fixtures');
export const TWILIO_SPEC_FILE = join(FIXTURES, 'twilio-oai', 'twilio_api_v2010.json');
export const TWILIO_WEBHOOKS_FILE = join(FIXTURES, 'twilio-webhooks.json');

export interface RestCheck {
  /** e.g. "POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"; null when no operation of the spec matches. */
  operation: string | null;
  problems: string[];
}

// ---- the spec ------------------------------------------------------------------------------------

interface Schema {
  type?: string;
  format?: string;
  enum?: string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  $ref?: string;
  description?: string;
  'x-twilio'?: { ignoreFormat?: boolean };
}

interface Operation {
  method: string;
  template: string;
  path: Map<string, Schema>;
  query: Map<string, Schema>;
  /** The form body's properties; null when the operation takes no body. */
  form: Map<string, Schema> | null;
  required: string[];
}

interface Template {
  template: string;
  regex: RegExp;
  names: string[];
  /** Characters of the template outside `{...}`: the more, the more specific. */
  literal: number;
  operations: Map<string, Operation>;
}

interface Spec {
  paths: Record<string, Record<string, any>>;
  components: { schemas: Record<string, Schema> };
}

let compiled: { spec: Spec; templates: Template[] } | undefined;

function load(): { spec: Spec; templates: Template[] } {
  if (compiled) return compiled;
  const spec = JSON.parse(readFileSync(TWILIO_SPEC_FILE, 'utf8')) as Spec;
  const templates: Template[] = [];
  for (const [template, item] of Object.entries(spec.paths)) {
    const names: string[] = [];
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const m = /^\{([^}]+)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]);
        return '([^/]+)';
      })
      .join('');
    const operations = new Map<string, Operation>();
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
      const params: { name: string; in: string; schema: Schema; description?: string }[] = op.parameters ?? [];
      const body = op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema;
      operations.set(method.toUpperCase(), {
        method: method.toUpperCase(),
        template,
        path: new Map(params.filter((p) => p.in === 'path').map((p) => [p.name, p.schema])),
        query: new Map(params.filter((p) => p.in === 'query').map((p) => [p.name, { ...p.schema, description: p.description }])),
        form: body ? new Map(Object.entries((body.properties ?? {}) as Record<string, Schema>)) : null,
        required: body?.required ?? [],
      });
    }
    templates.push({ template, regex: new RegExp(`^${source}$`), names, literal: template.replace(/\{[^}]+\}/g, '').length, operations });
  }
  compiled = { spec, templates };
  return compiled;
}

function resolve(schema: Schema, spec: Spec): Schema {
  let s = schema;
  for (let depth = 0; s?.$ref && depth < 10; depth++) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    s = { ...spec.components.schemas[name], description: s.description ?? spec.components.schemas[name]?.description };
  }
  return s;
}

/**
 * The values a string parameter without an `enum` may take, when its description (Twilio's words)
 * lists them: "Can be: `initiated`, `ringing`, `answered`, and `completed`." Two or more, or none.
 */
function describedValues(s: Schema): string[] | null {
  if (s.type !== 'string' || s.enum || s.format || s.pattern) return null;
  const m = /[Cc]an be:?\s*((?:`[^`]*`[,;]?\s*(?:and|or)?\s*)+)/.exec(s.description ?? '');
  const values = m ? [...m[1].matchAll(/`([^`]*)`/g)].map((v) => v[1]) : [];
  return values.length >= 2 ? values : null;
}

/** Parameters whose value could be a phone number, a code or a message: never quoted in a problem. */
const SENSITIVE = new Set([
  'To',
  'From',
  'Body',
  'Twiml',
  'CallerId',
  'CallerName',
  'CallerDisplayName',
  'ForwardedFrom',
  'Caller',
  'Called',
  'Digits',
  'SpeechResult',
  'SipAuthUsername',
  'SipAuthPassword',
  'CallToken',
  'PhoneNumber',
]);
const SENSITIVE_FORMATS = new Set(['phone-number', 'endpoint', 'twiml']);

/** A value for a problem line: short, quoted, with any run of digits that could be a number masked. */
function quote(v: string): string {
  return JSON.stringify(v.slice(0, 40).replace(/\+?\d[\d\s().-]{5,}\d/g, '[digits]'));
}

/** What is wrong with one value of a parameter (null: nothing), its value quoted only when harmless. */
function valueProblem(name: string, value: string, schema: Schema, spec: Spec): string | null {
  const s = resolve(schema, spec);
  const shown = SENSITIVE.has(name) || SENSITIVE_FORMATS.has(s.format ?? '') ? '' : ` (${quote(value)})`;
  switch (s.type) {
    case 'boolean':
      return value === 'true' || value === 'false' ? null : `not a boolean (true or false)${shown}`;
    case 'integer':
      if (!/^-?\d+$/.test(value)) return `not an integer${shown}`;
      break;
    case 'number':
      if (value.trim() === '' || !Number.isFinite(Number(value))) return `not a number${shown}`;
      break;
  }
  if ((s.type === 'integer' || s.type === 'number') && value !== '') {
    const n = Number(value);
    if (s.minimum !== undefined && n < s.minimum) return `below the minimum ${s.minimum}${shown}`;
    if (s.maximum !== undefined && n > s.maximum) return `above the maximum ${s.maximum}${shown}`;
    return null;
  }
  const allowed = s.enum ?? describedValues(s);
  if (allowed && !allowed.includes(value)) return shown ? `value not allowed${shown}; allowed: ${allowed.join(', ')}` : 'value not allowed';
  if (s.pattern && !new RegExp(s.pattern).test(value)) return `does not match ${s.pattern}${shown}`;
  if (s.minLength !== undefined && value.length < s.minLength) return `shorter than ${s.minLength} characters`;
  if (s.maxLength !== undefined && value.length > s.maxLength) return `longer than ${s.maxLength} characters`;
  if (!s['x-twilio']?.ignoreFormat) {
    if (s.format === 'uri' && value !== '' && !/^https?:\/\/[^\s/]+/i.test(value)) return `not an absolute http(s) URL${shown}`;
    if (s.format === 'date-time' && !(/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))))
      return `not an ISO 8601 date-time${shown}`;
    if (s.format === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) return `not a date (YYYY-MM-DD)${shown}`;
  }
  return null;
}

/** The problems of the parameters sent in one place (form body or query) against what the operation declares. */
function paramProblems(
  where: 'form' | 'query',
  sent: URLSearchParams,
  declared: Map<string, Schema>,
  required: string[],
  operation: string,
  spec: Spec,
): string[] {
  const problems: string[] = [];
  for (const name of new Set(sent.keys())) {
    const schema = declared.get(name);
    if (!schema) {
      problems.push(`${operation}: ${where} parameter ${name} is not a parameter of this operation`);
      continue;
    }
    const values = sent.getAll(name);
    const s = resolve(schema, spec);
    if (s.type === 'array') {
      const items = s.items ?? {};
      const each = resolve(items, spec).type === 'string' ? values.flatMap((v) => v.split(/\s+/).filter(Boolean)) : values;
      for (const v of new Set(each)) {
        const p = valueProblem(name, v, { ...items, description: items.description ?? s.description }, spec);
        if (p) problems.push(`${operation}: ${where} parameter ${name}: ${p}`);
      }
      continue;
    }
    if (values.length > 1) problems.push(`${operation}: ${where} parameter ${name} sent ${values.length} times (not an array)`);
    const p = valueProblem(name, values[0], schema, spec);
    if (p) problems.push(`${operation}: ${where} parameter ${name}: ${p}`);
  }
  for (const name of required) if (!sent.has(name)) problems.push(`${operation}: ${where} parameter ${name} is required and missing`);
  return problems;
}

/** A path as it may be shown in a problem: SIDs shortened, runs of digits that could be a phone number masked. */
function shownPath(path: string): string {
  return path
    .replace(/\b([A-Z]{2})[0-9a-fA-F]{32}\b/g, '$1...')
    .replace(/(?:\+|%2B)?\d{7,}/gi, '[digits]')
    .slice(0, 200);
}

/** True for a path of the 2010-04-01 API (the only one vendored); the peer also plays other hosts' APIs. */
export function inApi2010(path: string): boolean {
  return path.split('?')[0].startsWith('/2010-04-01/');
}

/**
 * One REST request (as the peer received it) against Twilio's description of the 2010-04-01 API.
 * `path` is the URL's pathname (percent-encoded as sent); `form` the request's form body; `query`
 * its query string. Array parameters arrive as repeated keys, as the twilio library sends them.
 */
export function checkRestRequest(method: string, path: string, form: URLSearchParams, query: URLSearchParams): RestCheck {
  const { spec, templates } = load();
  const verb = method.toUpperCase();
  const pathname = path.split('?')[0];
  const matches = templates
    .map((t) => {
      const m = t.regex.exec(pathname);
      if (!m) return null;
      const values = m.slice(1).map((v) => {
        try {
          return decodeURIComponent(v);
        } catch {
          return v;
        }
      });
      return { t, values };
    })
    .filter((x): x is { t: Template; values: string[] } => !!x);
  if (!matches.length) return { operation: null, problems: [`${verb} ${shownPath(pathname)}: no path of Twilio's 2010-04-01 API matches`] };
  // The most specific template whose path parameters fit their patterns (IncomingPhoneNumbers/Local.json, not {Sid}).
  const fits = (x: { t: Template; values: string[] }) => {
    const op = x.t.operations.get(verb) ?? [...x.t.operations.values()][0];
    return x.t.names.every((n, i) => {
      const s = op ? resolve(op.path.get(n) ?? {}, spec) : {};
      return !s.pattern || new RegExp(s.pattern).test(x.values[i]);
    });
  };
  matches.sort((a, b) => Number(fits(b)) - Number(fits(a)) || b.t.literal - a.t.literal);
  const { t, values } = matches[0];
  const op = t.operations.get(verb);
  if (!op)
    return {
      operation: null,
      problems: [`${verb} ${t.template}: no such operation (the path has ${[...t.operations.keys()].join(', ') || 'no method'})`],
    };
  const operation = `${verb} ${t.template}`;
  const problems: string[] = [];
  t.names.forEach((name, i) => {
    const schema = op.path.get(name);
    if (!schema) return;
    const s = resolve(schema, spec);
    if (s.pattern && !new RegExp(s.pattern).test(values[i]))
      problems.push(`${operation}: path parameter ${name} does not match ${s.pattern}`);
  });
  if (op.form) problems.push(...paramProblems('form', form, op.form, op.required, operation, spec));
  else if ([...form.keys()].length) problems.push(`${operation}: a form body, but this operation takes none`);
  problems.push(...paramProblems('query', query, op.query, [], operation, spec));
  return { operation, problems };
}

// ---- webhooks ------------------------------------------------------------------------------------

export interface WebhookKind {
  extends?: string | string[];
  doc: string | string[];
  /** Parameter name -> the documentation page that names it. */
  params: Record<string, string>;
  /** Where the documentation gives every value a parameter takes. */
  values?: Record<string, string[]>;
  note?: string;
}

export interface WebhookFixture {
  kinds: Record<string, WebhookKind>;
  /** Route (path) -> the kind(s) of request Twilio makes to it. */
  routes: Record<string, string[]>;
}

let webhooks: WebhookFixture | undefined;

export function webhookFixture(): WebhookFixture {
  return (webhooks ??= JSON.parse(readFileSync(TWILIO_WEBHOOKS_FILE, 'utf8')) as WebhookFixture);
}

/** A kind and the kinds it extends, nearest first. */
function lineage(kind: string, f: WebhookFixture): WebhookKind[] {
  const out: WebhookKind[] = [];
  const visit = (k: string) => {
    const def = f.kinds[k];
    if (!def || out.includes(def)) return;
    out.push(def);
    for (const parent of [def.extends ?? []].flat()) visit(parent);
  };
  visit(kind);
  return out;
}

/** Every parameter a kind receives (its own and those of the kinds it extends). */
export function kindParams(kind: string): Set<string> {
  return new Set(lineage(kind, webhookFixture()).flatMap((k) => Object.keys(k.params)));
}

/** The path of a route given as a path, a path with a query, or a full URL. */
function routePath(route: string): string {
  return new URL(route, 'http://gateway').pathname.replace(/\/+$/, '') || '/';
}

/** The kinds of request Twilio makes to a route; null when the fixture does not know the route. */
export function routeKinds(route: string): string[] | null {
  return webhookFixture().routes[routePath(route)] ?? null;
}

/** Every parameter Twilio may send to a route (any of its kinds); null for an unknown route. */
export function routeParams(route: string): Set<string> | null {
  const kinds = routeKinds(route);
  return kinds ? new Set(kinds.flatMap((k) => [...kindParams(k)])) : null;
}

/**
 * The parameters of one webhook delivery (what the peer, the caller simulator or a test sends to
 * `route`) against what Twilio documents for the route's kind(s): a parameter none of them lists,
 * a value outside the documented ones, or a route the fixture does not know.
 */
export function checkWebhookParams(route: string, params: Record<string, string | string[] | undefined>): string[] {
  const path = routePath(route);
  const kinds = routeKinds(path);
  if (!kinds) return [`${path}: not a route of twilio-webhooks.json (which kind of Twilio request is it?)`];
  const f = webhookFixture();
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const listing = kinds.filter((k) => kindParams(k).has(name));
    if (!listing.length) {
      problems.push(`${path}: ${name} is not a parameter Twilio documents for ${kinds.join(' or ')}`);
      continue;
    }
    // A value is fine when one kind that lists the parameter leaves it open or names the value.
    const restrictions = listing.map((k) => lineage(k, f).find((d) => d.values?.[name])?.values?.[name] ?? null);
    if (restrictions.includes(null)) continue;
    for (const v of [raw].flat()) {
      if (restrictions.some((r) => r!.includes(v))) continue;
      problems.push(
        SENSITIVE.has(name)
          ? `${path}: ${name}: value not allowed`
          : `${path}: ${name}: value not allowed (${quote(v)}); documented: ${[...new Set(restrictions.flat())].join(', ')}`,
      );
    }
  }
  return problems;
}

// ---- the run's record ----------------------------------------------------------------------------

/** This run's record of checks (one JSON line each); TWILIO_CONTRACT_FILE overrides it (the validator's own tests). */
export function twilioContractFile(): string {
  return process.env.TWILIO_CONTRACT_FILE || join(tmpdir(), `hotline-twilio-contract-${TEST_ID}.jsonl`);
}

export function resetTwilioContractRun(): void {
  writeFileSync(twilioContractFile(), '');
}

export function recordRestCheck(check: RestCheck): void {
  appendFileSync(twilioContractFile(), JSON.stringify({ kind: 'rest', operation: check.operation, problems: check.problems }) + '\n');
}

export function recordWebhookCheck(route: string, problems: string[]): void {
  appendFileSync(twilioContractFile(), JSON.stringify({ kind: 'webhook', route: routePath(route), problems }) + '\n');
}

export interface TwilioContractRun {
  restChecks: number;
  /** Distinct operations checked, with how many requests each. */
  operations: Record<string, number>;
  webhookChecks: number;
  /** Distinct routes checked, with how many deliveries each. */
  routes: Record<string, number>;
  /** Every distinct problem, "REST ..." or "webhook ...", with how many times it was seen. */
  problems: { problem: string; times: number }[];
}

export function readTwilioContractRun(): TwilioContractRun {
  const file = twilioContractFile();
  const run: TwilioContractRun = { restChecks: 0, operations: {}, webhookChecks: 0, routes: {}, problems: [] };
  if (!existsSync(file)) return run;
  const seen = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { kind: string; operation?: string | null; route?: string; problems: string[] };
    if (r.kind === 'rest') {
      run.restChecks++;
      if (r.operation) run.operations[r.operation] = (run.operations[r.operation] ?? 0) + 1;
    } else {
      run.webhookChecks++;
      run.routes[r.route ?? '?'] = (run.routes[r.route ?? '?'] ?? 0) + 1;
    }
    for (const p of r.problems) {
      const key = `${r.kind === 'rest' ? 'REST' : 'webhook'} ${p}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  run.problems = [...seen].map(([problem, times]) => ({ problem, times }));
  return run;
}

/** "Twilio contract: N distinct REST operations checked (...), M webhook deliveries checked (...), K problems". */
export function describeTwilioContractRun(run: TwilioContractRun): string {
  const ops = Object.keys(run.operations).sort();
  const routes = Object.keys(run.routes).sort();
  if (!run.restChecks && !run.webhookChecks)
    return 'Twilio contract: this run checked nothing (no request reached the Twilio peer, no webhook was checked)';
  const lines = [
    `Twilio contract: ${ops.length} distinct REST operations checked (${run.restChecks} requests), ` +
      `${run.webhookChecks} webhook deliveries checked (${routes.length} routes), ${run.problems.length} problems`,
    ...ops.map((o) => `  ${o}  x${run.operations[o]}`),
    ...routes.map((r) => `  webhook ${r}  x${run.routes[r]}`),
    ...run.problems.map((p) => `  PROBLEM ${p.problem}${p.times > 1 ? `  (x${p.times})` : ''}`),
  ];
  return lines.join('\n');
}
