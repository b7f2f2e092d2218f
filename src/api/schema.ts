/**
 * The schema language of the HTTP API: a subset of JSON Schema as Swagger 2.0
 * writes it, so a definition is at the same time the OpenAPI text and what
 * request bodies are checked against. Values follow the proto3 JSON mapping
 * grpc-gateway uses: enums by name (or number), 64-bit integers as strings (a
 * number is accepted), int32 as numbers (a numeric string is accepted).
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { closest } from '../sdk/params.js';

export type Schema =
  | { readonly $ref: string; readonly description?: string }
  | {
      readonly type: 'string';
      readonly format?: 'byte' | 'date-time' | 'uint64' | 'int64';
      readonly enum?: readonly string[];
      readonly default?: string;
      readonly description?: string;
      readonly readOnly?: boolean;
    }
  | {
      readonly type: 'integer';
      readonly format: 'int32';
      readonly description?: string;
    }
  | { readonly type: 'boolean'; readonly description?: string }
  | {
      readonly type: 'array';
      readonly items: Schema;
      readonly description?: string;
      readonly readOnly?: boolean;
      /**
       * A field beyond Conduit's message (an extension field of one of Conduit's messages): Conduit's
       * clients ignore it as an unknown field; `openapi.test.ts` checks that Conduit's message has no such field.
       */
      readonly 'x-extension'?: true;
    }
  | {
      readonly type: 'object';
      readonly properties?: Readonly<Record<string, Schema>>;
      /** A map's values (`additionalProperties` in Swagger; true: anything); without it, only the listed properties. */
      readonly additionalProperties?: Schema | true;
      readonly required?: readonly string[];
      readonly description?: string;
    };

export type Definitions = Readonly<Record<string, Schema>>;

/** `#/definitions/<name>` */
export function ref(name: string): Schema {
  return { $ref: `#/definitions/${name}` };
}

const INT = /^[+-]?\d+$/;

/**
 * Checks a decoded JSON value against a schema and returns it in its canonical
 * form (uint64 strings as numbers, enum numbers as names). Throws a
 * ConduitError naming the first bad field as a JSON pointer (`/config/name`).
 */
export function conform(value: unknown, schema: Schema, defs: Definitions, path = ''): unknown {
  if ('$ref' in schema) {
    const name = schema.$ref.replace('#/definitions/', '');
    const target = defs[name];
    if (target === undefined) throw new Error(`schema ${schema.$ref} is not defined`);
    return conform(value, target, defs, path);
  }
  const where = path === '' ? 'the body' : `"${path.slice(1).replace(/\//g, '.')}"`;
  const bad = (what: string, suggestion: string): ConduitError =>
    new ConduitError(Code.ConfigFieldInvalid, `${where} must be ${what}`, {
      configPath: path === '' ? '/' : path,
      suggestion,
    });
  if (value === null) return undefined; // proto3 JSON: null means the default
  switch (schema.type) {
    case 'string': {
      if (schema.enum !== undefined) {
        if (typeof value === 'number' && Number.isInteger(value) && schema.enum[value] !== undefined) {
          return schema.enum[value];
        }
        if (typeof value !== 'string' || !schema.enum.includes(value)) {
          throw bad(`one of ${schema.enum.join(', ')}`, `use one of: ${schema.enum.join(', ')}`);
        }
        return value;
      }
      if (schema.format === 'uint64' || schema.format === 'int64') {
        const text = typeof value === 'number' ? String(value) : value;
        if (typeof text !== 'string' || !INT.test(text) || (schema.format === 'uint64' && text.startsWith('-'))) {
          throw bad('a whole number (a JSON number or a string of digits)', 'use a value such as "1"');
        }
        const n = Number(text);
        if (!Number.isSafeInteger(n)) throw bad('a whole number below 2^53', 'use a smaller number');
        return n;
      }
      if (typeof value !== 'string') throw bad('a string', 'put the value in double quotes');
      return value;
    }
    case 'integer': {
      const n = typeof value === 'string' && INT.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
        throw bad('a whole number (32 bits)', 'use a number such as 1');
      }
      return n;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('true or false', 'use true or false without quotes');
      return value;
    case 'array': {
      if (!Array.isArray(value)) throw bad('an array', 'use a JSON array [...]');
      return value.map((v, i) => conform(v, schema.items, defs, `${path}/${i}`));
    }
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad('an object', 'use a JSON object {...}');
      const input = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      for (const [k, v] of Object.entries(input)) {
        // Own properties only: a field named `toString` or `__proto__` is not a declared one.
        const p = Object.hasOwn(props, k) ? props[k] : schema.additionalProperties;
        const at = `${path}/${escapePointer(k)}`;
        if (p === undefined) {
          const near = closest(k, Object.keys(props));
          throw new ConduitError(Code.ConfigFieldUnknown, `"${at.slice(1).replace(/\//g, '.')}" is not a field here`, {
            configPath: at,
            suggestion:
              near === undefined
                ? `remove it; the fields are: ${Object.keys(props).join(', ')}`
                : `did you mean "${near}"?`,
          });
        }
        if (p === true) {
          setOwn(out, k, v);
          continue;
        }
        if ('readOnly' in p && p.readOnly === true) continue; // shown in answers, ignored in requests
        const c = conform(v, p, defs, at);
        if (c !== undefined) setOwn(out, k, c);
      }
      for (const r of schema.required ?? []) {
        if (out[r] === undefined) {
          throw new ConduitError(
            Code.ConfigFieldRequired,
            `"${`${path}/${r}`.slice(1).replace(/\//g, '.')}" is required`,
            {
              configPath: `${path}/${escapePointer(r)}`,
              suggestion: `add "${r}"`,
            },
          );
        }
      }
      return out;
    }
  }
}

/** `out[k] = v`, also for k `__proto__` (a plain assignment would set the object's prototype instead). */
function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
