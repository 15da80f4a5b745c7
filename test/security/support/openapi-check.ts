import { randomInt } from 'crypto';
import { Doc, Schema } from './fuzz';

/**
 * A validator for the part of JSON Schema (OpenAPI 3.0 flavour) that the records document uses:
 * type, properties, required, items, enum, format (uuid, date-time), nullable, allOf and $ref to
 * components, and the length, minimum and pattern bounds. Stricter than JSON Schema in one way: a
 * property the schema does not declare is a problem (an answer must not carry what the document
 * does not say it carries).
 */
export interface ResponseSchema extends Schema {
  nullable?: boolean;
  allOf?: ResponseSchema[];
  description?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function deref(doc: Doc, s: ResponseSchema): ResponseSchema {
  let out = s;
  for (let i = 0; out.$ref && i < 20; i++) {
    const name = out.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name] as ResponseSchema | undefined;
    if (!target) throw new Error(`the document refers to a schema it does not have: ${out.$ref}`);
    out = target;
  }
  return out;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The problems of `value` against `schema` ([] = valid), each with the JSON path where it is. */
export function validate(doc: Doc, schema: ResponseSchema | undefined, value: unknown, at = '$'): string[] {
  if (!schema) return [];
  const s = deref(doc, schema);
  if (value === null) return s.nullable ? [] : [`${at}: null, but the schema is not nullable`];
  const problems: string[] = [];
  // allOf (as @nestjs/swagger writes a nullable $ref): every part applies, with their properties together.
  const parts = (s.allOf ?? []).map((p) => deref(doc, p));
  const properties: Record<string, ResponseSchema> = { ...(s.properties as Record<string, ResponseSchema>) };
  for (const p of parts) Object.assign(properties, p.properties ?? {});
  const required = [...(s.required ?? []), ...parts.flatMap((p) => p.required ?? [])];
  const types = [s.type, ...parts.map((p) => p.type)].filter((t): t is string => !!t);
  const actual = typeOf(value);
  for (const t of new Set(types)) {
    const ok = t === actual || (t === 'number' && actual === 'integer');
    if (!ok) return [`${at}: ${actual} ${JSON.stringify(value).slice(0, 60)}, the schema says ${t}`];
  }
  for (const e of [s, ...parts].filter((x) => x.enum))
    if (!e.enum!.some((x) => x === value))
      problems.push(`${at}: ${JSON.stringify(value).slice(0, 60)} is not one of ${JSON.stringify(e.enum)}`);
  if (typeof value === 'string') {
    for (const p of [s, ...parts]) {
      if (p.format === 'uuid' && !UUID.test(value)) problems.push(`${at}: ${JSON.stringify(value.slice(0, 60))} is not a uuid`);
      if (p.format === 'date-time' && !(DATE_TIME.test(value) && !isNaN(Date.parse(value))))
        problems.push(`${at}: ${JSON.stringify(value.slice(0, 60))} is not a date-time`);
      if (p.pattern && !new RegExp(p.pattern).test(value)) problems.push(`${at}: does not match ${p.pattern}`);
      if (p.minLength !== undefined && value.length < p.minLength) problems.push(`${at}: shorter than ${p.minLength}`);
      if (p.maxLength !== undefined && value.length > p.maxLength) problems.push(`${at}: longer than ${p.maxLength}`);
    }
  }
  if (typeof value === 'number')
    for (const p of [s, ...parts]) {
      if (p.minimum !== undefined && value < p.minimum) problems.push(`${at}: below ${p.minimum}`);
      if (p.maximum !== undefined && value > p.maximum) problems.push(`${at}: above ${p.maximum}`);
    }
  if (Array.isArray(value)) {
    const items = s.items ?? parts.find((p) => p.items)?.items;
    value.forEach((v, i) => problems.push(...validate(doc, items as ResponseSchema, v, `${at}[${i}]`)));
    if (s.minItems !== undefined && value.length < s.minItems) problems.push(`${at}: fewer than ${s.minItems} items`);
  }
  if (actual === 'object' && (types.includes('object') || Object.keys(properties).length)) {
    const o = value as Record<string, unknown>;
    for (const k of required) if (!(k in o)) problems.push(`${at}: required property ${k} is missing`);
    for (const [k, v] of Object.entries(o)) {
      if (properties[k]) problems.push(...validate(doc, properties[k], v, `${at}.${k}`));
      else if (Object.keys(properties).length || required.length) problems.push(`${at}: property ${k} is not in the document`);
    }
  }
  return problems;
}

/**
 * What the document says an operation answers with `status`: `undefined` when the status is not
 * documented; `null` when it is documented without a body.
 */
export function responseSchema(op: any, status: number): ResponseSchema | null | undefined {
  const r = op?.responses?.[String(status)];
  if (!r) return undefined;
  return r.content?.['application/json']?.schema ?? (r.content ? {} : null);
}

/**
 * Judges a 2xx answer against the document: the status is one the operation documents, a body is
 * JSON that validates against that status's schema, a status documented without a body has none.
 */
export function judgeSuccess(
  doc: Doc,
  key: string,
  op: any,
  res: { status: number; text: string; body: any; headers: Record<string, string> },
): string[] {
  const schema = responseSchema(op, res.status);
  if (schema === undefined)
    return [`${key} answered ${res.status}, which the document does not list (${Object.keys(op?.responses ?? {}).join(', ')})`];
  // 204 has no body by definition; another status listed without content is a body the document does not describe (see undescribedSuccesses).
  if (schema === null) return res.status === 204 && res.text ? [`${key} 204 with a body of ${res.text.length} bytes`] : [];
  // A documented CSV download (text/csv) is judged by its type and its header line.
  if (op?.responses?.[String(res.status)]?.content?.['text/csv'] && String(res.headers['content-type']).includes('text/csv'))
    return /^[A-Za-z]+(,[A-Za-z]+)*\r\n/.test(res.text) ? [] : [`${key} ${res.status}: a CSV without a header line`];
  if (!String(res.headers['content-type']).includes('application/json'))
    return [`${key} ${res.status}: content-type ${res.headers['content-type']}, not JSON`];
  return validate(doc, schema, res.body).map((p) => `${key} ${res.status}: ${p}`);
}

/** The operations whose 2xx answer (other than 204) the document lists without describing its body. */
export function undescribedSuccesses(doc: Doc): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).flatMap(([method, op]) =>
      Object.keys(op?.responses ?? {})
        .filter((status) => /^2\d\d$/.test(status) && status !== '204' && responseSchema(op, Number(status)) === null)
        .map(() => `${method.toUpperCase()} ${path}`),
    ),
  );
}

/**
 * This run's fuzzing seed: FUZZ_SEED when set (to replay a run), else a random one, and the line
 * that says how to replay it.
 */
export function fuzzSeed(specFile: string): { seed: number; replay: string } {
  const fromEnv = process.env.FUZZ_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : randomInt(1, 2 ** 30);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${fromEnv}`);
  const replay = `FUZZ_SEED=${seed} npx jest --runInBand --forceExit ${specFile}`;
  return { seed, replay };
}
