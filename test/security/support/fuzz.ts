import fc from 'fast-check';

/** Just enough of OpenAPI 3 schema objects to generate bodies from them. */
export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
}

export type Doc = { paths: Record<string, Record<string, any>>; components?: { schemas?: Record<string, Schema> } };

export function resolve(doc: Doc, s: Schema | undefined): Schema {
  if (!s) return {};
  if (!s.$ref) return s;
  return resolve(doc, doc.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')]);
}

const loneSurrogates = fc.string({
  unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 8,
});

/** Strings a text field should survive: emoji, combining marks, RTL, NUL and control characters, lone surrogates, SQL and template bait. */
export const oddText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  loneSurrogates,
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\u202Eevil',
    'Z̴̡̢̛a̶l̷g̸o',
    '👩‍👩‍👧‍👦'.repeat(50),
    "'; DROP TABLE notes; --",
    '{{7*7}}${7*7}',
    '<script>alert(1)</script>',
    '\r\nX-Injected: 1',
    ' ',
    '\t\n',
  ),
);

/** Values of the wrong type for any field. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, [], {}, [null], { $ne: null }, { __proto__: { admin: true } }),
  fc.integer(),
  fc.double(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** A value that conforms to the schema. */
export function conforming(doc: Doc, schema: Schema | undefined): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'string': {
      if (s.format === 'uuid') return fc.uuid();
      if (s.format === 'date-time')
        return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      if (s.pattern) return fc.stringMatching(new RegExp(s.pattern));
      const minLength = Math.max(1, s.minLength ?? 1);
      const maxLength = Math.max(minLength, Math.min(s.maxLength ?? 60, 60));
      return fc.oneof(
        fc.string({ minLength, maxLength }).filter((x) => /\S/.test(x)),
        fc.string({ unit: 'grapheme', minLength, maxLength }).filter((x) => /\S/.test(x)),
      );
    }
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6 });
    case 'number':
      return fc.integer({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6 });
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const item = conforming(doc, s.items);
      return fc.uniqueArray(item, {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 4, 4),
        selector: (v) => JSON.stringify(v),
      });
    }
    case 'object':
    default: {
      const props = s.properties ?? {};
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) record[k] = conforming(doc, v);
      return fc.record(record, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
    }
  }
}

/**
 * A hostile body for an operation whose body follows `schema`: mostly almost-right objects (one
 * field of the wrong type, odd or huge text, an unknown field, a required field missing), and
 * sometimes something that is not an object at all.
 */
export function hostileBody(doc: Doc, schema: Schema | undefined): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  const fields = Object.keys(s.properties ?? {});
  const base = conforming(doc, s) as fc.Arbitrary<Record<string, unknown>>;
  const field = fields.length ? fc.constantFrom(...fields) : fc.constant('x');
  return fc.oneof(
    { arbitrary: base, weight: 2 },
    { arbitrary: fc.tuple(base, field, wrongType).map(([b, k, v]) => ({ ...b, [k]: v })), weight: 3 },
    { arbitrary: fc.tuple(base, field, oddText).map(([b, k, v]) => ({ ...b, [k]: v })), weight: 3 },
    {
      arbitrary: fc.tuple(base, field, fc.constantFrom(17 * 1024, 70 * 1024)).map(([b, k, n]) => ({ ...b, [k]: 'é'.repeat(n / 2) })),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(
          base,
          fc.constantFrom('role', 'operatorId', 'isAdmin', 'id', 'callId', 'createdAt', '__proto__', 'constructor'),
          fc.jsonValue(),
        )
        .map(([b, k, v]) =>
          JSON.parse(
            JSON.stringify({ ...b }).replace(
              /^\{/,
              () => `{${JSON.stringify(k)}:${JSON.stringify(v ?? null)}${Object.keys(b).length ? ',' : ''}`,
            ),
          ),
        ),
      weight: 2,
    },
    { arbitrary: fc.tuple(base, field).map(([b, k]) => Object.fromEntries(Object.entries(b).filter(([x]) => x !== k))), weight: 1 },
    { arbitrary: fc.oneof(fc.jsonValue(), wrongType), weight: 1 },
  );
}

/** A raw request body that is not the JSON it claims to be, or not JSON at all. */
export const rawBody: fc.Arbitrary<{ type: string; body: string | Buffer; encoding?: string }> = fc.oneof(
  fc
    .constantFrom(
      '{',
      '{"text":',
      '{"text": "a"',
      'null',
      '[]',
      '"just a string"',
      '{"a":1}{"b":2}',
      '{"text":"\\ud800"}',
      '\u0000',
      'text=hi',
      '{"__proto__":{"role":"admin"},"text":"x"}',
    )
    .map((body) => ({ type: 'application/json', body })),
  fc.string({ maxLength: 60 }).map((body) => ({ type: 'application/json', body })),
  fc
    .constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
    )
    .map((type) => ({ type, body: '{"text":"hello there"}' })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ type: 'application/json', body: Buffer.from(b) })),
  fc.constant({ type: 'application/json', body: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]) }),
  fc
    .constantFrom('gzip', 'deflate', 'br', 'x-unknown')
    .map((encoding) => ({ type: 'application/json', body: '{"text":"not compressed at all"}', encoding })),
);

/** Percent-encoding that survives lone surrogates (they go as the UTF-8 of U+FFFD, as a client would send). */
export function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('');
  }
}

/** A path segment where a UUID belongs: a real one, a random one, or no UUID at all. */
export function idSegment(real: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...real), weight: 3 },
    { arbitrary: fc.uuid(), weight: 2 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map(pct), weight: 2 },
    { arbitrary: oddText.map(pct), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '..%2F..%2Fusers',
        '%00',
        '0'.repeat(300),
        '1%27%20OR%20%271%27%3D%271',
        'null',
        'undefined',
        '-1',
        '00000000-0000-0000-0000-000000000000',
        'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
        real[0].toUpperCase(),
        ` ${real[0]}`.replace(' ', '%20'),
      ),
      weight: 2,
    },
  );
}
