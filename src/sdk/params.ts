/**
 * The declarative parameter spec. Each connector and processor declares its
 * parameters once; validation, defaults, typed reading, generated docs, JSON
 * Schema and secret redaction all come from that declaration.
 *
 * Semantics follow conduit-commons `config`: values are strings; they are
 * trimmed, defaults are applied, then every parameter is validated. Unknown
 * keys are errors. Keys may hold `*` wildcards (`collections.*.format.type`),
 * where `*` stands for one or more characters other than a dot.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { parseDuration } from './duration.js';

export type ParamType = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'file';

export interface ParamSpec {
  readonly type: ParamType;
  readonly description: string;
  /** The default, as Conduit writes it: a string. */
  readonly default?: string;
  readonly required?: boolean;
  readonly greaterThan?: number;
  readonly lessThan?: number;
  /** The value must be one of these (for a list parameter: every item). */
  readonly inclusion?: readonly string[];
  readonly exclusion?: readonly string[];
  readonly regex?: string;
  /** A comma-separated list; inclusion and exclusion apply to each item. */
  readonly list?: boolean;
  /** Never shown in logs, API answers or error messages. */
  readonly secret?: boolean;
  readonly deprecated?: string;
}

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** Settings as they appear in a pipeline file: a flat string map. */
export type Settings = Readonly<Record<string, string>>;

export const REDACTED = '***';

interface CompiledKey {
  readonly key: string;
  readonly spec: ParamSpec;
  readonly pattern: RegExp | undefined;
}

const compiled = new WeakMap<ParamSpecs, readonly CompiledKey[]>();

function compile(specs: ParamSpecs): readonly CompiledKey[] {
  let c = compiled.get(specs);
  if (c === undefined) {
    c = Object.entries(specs).map(([key, spec]) => ({
      key,
      spec,
      pattern: key.includes('*') ? new RegExp(`^${key.split('*').map(escapeRegex).join('[^.]+')}$`) : undefined,
    }));
    compiled.set(specs, c);
  }
  return c;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Finds the spec a settings key falls under, exact keys first, then wildcards. */
export function specFor(specs: ParamSpecs, key: string): ParamSpec | undefined {
  const exact = specs[key];
  if (exact !== undefined) return exact;
  for (const c of compile(specs)) if (c.pattern?.test(key) === true) return c.spec;
  return undefined;
}

export interface ValidateOptions {
  /** JSON-pointer prefix for error paths, e.g. `/pipelines/0/connectors/1/settings`. */
  readonly pathPrefix?: string;
  readonly file?: string;
  /** Where each settings key sits in the file, for line/column in errors. */
  readonly locate?: (key: string) => { line: number; column: number } | undefined;
  /** The plugin name, used in messages. */
  readonly plugin?: string;
}

export interface ValidateResult {
  /** Trimmed settings with defaults applied. */
  readonly settings: Record<string, string>;
  readonly errors: ConduitError[];
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function parseBool(v: string): boolean | undefined {
  if (BOOL_TRUE.has(v)) return true;
  if (BOOL_FALSE.has(v)) return false;
  return undefined;
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|[Ii]nf(inity)?|NaN)$/;

/** Trims, applies defaults and validates; collects every problem. */
export function validateSettings(specs: ParamSpecs, input: Settings, opts: ValidateOptions = {}): ValidateResult {
  const prefix = opts.pathPrefix ?? '';
  const errors: ConduitError[] = [];
  const settings: Record<string, string> = {};
  const place = (key: string) => ({
    configPath: `${prefix}/${escapePointer(key)}`,
    file: opts.file,
    ...opts.locate?.(key),
  });
  const who = opts.plugin === undefined ? '' : ` of plugin "${opts.plugin}"`;

  for (const [k, v] of Object.entries(input)) {
    const key = k.trim();
    const spec = specFor(specs, key);
    if (spec === undefined) {
      const near = closest(key, Object.keys(specs));
      errors.push(
        new ConduitError(Code.ParamUnknown, `"${key}" is not a parameter${who}`, {
          ...place(key),
          suggestion:
            near === undefined
              ? `remove it; "conduit pipelines schema" lists every plugin's parameters`
              : `did you mean "${near}"?`,
        }),
      );
      continue;
    }
    settings[key] = typeof v === 'string' ? v.trim() : String(v);
  }

  for (const c of compile(specs)) {
    if (c.pattern !== undefined) continue;
    if (settings[c.key] === undefined && c.spec.default !== undefined) settings[c.key] = c.spec.default;
  }

  for (const c of compile(specs)) {
    const keys = c.pattern === undefined ? [c.key] : Object.keys(settings).filter((k) => c.pattern?.test(k));
    for (const key of keys) {
      if (c.pattern !== undefined && specs[key] !== undefined) continue; // an exact spec wins
      const value = settings[key];
      if (value === undefined || value === '') {
        if (c.spec.required === true && c.pattern === undefined) {
          errors.push(
            new ConduitError(Code.ParamRequired, `required parameter "${key}"${who} is not provided`, {
              ...place(key),
              suggestion: `set "${key}": ${c.spec.description}`,
            }),
          );
        }
        continue;
      }
      const problem = checkValue(c.spec, value);
      if (problem !== undefined) {
        const shown = c.spec.secret === true ? REDACTED : JSON.stringify(value);
        errors.push(
          new ConduitError(problem.code, `parameter "${key}"${who}: ${shown} ${problem.message}`, {
            ...place(key),
            suggestion: problem.suggestion,
          }),
        );
      }
    }
  }
  return { settings, errors };
}

function checkValue(spec: ParamSpec, value: string): { code: string; message: string; suggestion: string } | undefined {
  const items = spec.list === true ? value.split(',').map((s) => s.trim()) : [value];
  for (const item of items) {
    const typeProblem = checkType(spec.type, item);
    if (typeProblem !== undefined) return { code: Code.ParamInvalidType, ...typeProblem };
    if (spec.inclusion !== undefined && !spec.inclusion.includes(item)) {
      return {
        code: Code.ParamValidation,
        message: `is not one of ${spec.inclusion.join(', ')}`,
        suggestion: `use one of: ${spec.inclusion.join(', ')}`,
      };
    }
    if (spec.exclusion?.includes(item) === true) {
      return {
        code: Code.ParamValidation,
        message: `must not be one of ${spec.exclusion.join(', ')}`,
        suggestion: `use another value`,
      };
    }
  }
  if (spec.greaterThan !== undefined || spec.lessThan !== undefined) {
    const n = numeric(spec.type, value);
    if (n !== undefined && spec.greaterThan !== undefined && !(n > spec.greaterThan)) {
      return {
        code: Code.ParamValidation,
        message: `must be greater than ${spec.greaterThan}`,
        suggestion: `use a value greater than ${spec.greaterThan}`,
      };
    }
    if (n !== undefined && spec.lessThan !== undefined && !(n < spec.lessThan)) {
      return {
        code: Code.ParamValidation,
        message: `must be less than ${spec.lessThan}`,
        suggestion: `use a value less than ${spec.lessThan}`,
      };
    }
  }
  if (spec.regex !== undefined && !new RegExp(spec.regex).test(value)) {
    return {
      code: Code.ParamValidation,
      message: `does not match ${spec.regex}`,
      suggestion: `use a value that matches the regular expression ${spec.regex}`,
    };
  }
  return undefined;
}

function checkType(type: ParamType, v: string): { message: string; suggestion: string } | undefined {
  switch (type) {
    case 'int':
      return INT.test(v) ? undefined : { message: 'is not an integer', suggestion: 'use a whole number, e.g. 10' };
    case 'float':
      return FLOAT.test(v) ? undefined : { message: 'is not a number', suggestion: 'use a number, e.g. 1.5' };
    case 'bool':
      return parseBool(v) !== undefined ? undefined : { message: 'is not a boolean', suggestion: 'use true or false' };
    case 'duration':
      return parseDuration(v) !== undefined
        ? undefined
        : { message: 'is not a duration', suggestion: 'use a duration such as 500ms, 10s or 1m30s' };
    default:
      return undefined;
  }
}

function numeric(type: ParamType, v: string): number | undefined {
  if (type === 'duration') return parseDuration(v);
  const n = Number(v);
  return Number.isNaN(n) ? undefined : n;
}

/** Reads validated settings as typed values. Call only after validateSettings passed. */
export class Config {
  constructor(
    readonly specs: ParamSpecs,
    readonly settings: Readonly<Record<string, string>>,
  ) {}

  has(key: string): boolean {
    const v = this.settings[key];
    return v !== undefined && v !== '';
  }
  string(key: string): string {
    return this.settings[key] ?? '';
  }
  list(key: string): string[] {
    const v = this.string(key);
    return v === ''
      ? []
      : v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  }
  int(key: string): number {
    const v = this.settings[key];
    return v === undefined || v === '' ? 0 : Number.parseInt(v, 10);
  }
  float(key: string): number {
    const v = this.settings[key];
    return v === undefined || v === '' ? 0 : Number(v);
  }
  bool(key: string): boolean {
    const v = this.settings[key];
    return v === undefined || v === '' ? false : parseBool(v) === true;
  }
  /** Milliseconds. */
  duration(key: string): number {
    const v = this.settings[key];
    return v === undefined || v === '' ? 0 : (parseDuration(v) ?? 0);
  }
  /**
   * The settings under a prefix, grouped by the segment after it:
   * `group('collections.')` on `collections.users.format.type=raw` gives
   * `{ users: { 'format.type': 'raw' } }`.
   */
  group(prefix: string): Map<string, Record<string, string>> {
    const out = new Map<string, Record<string, string>>();
    for (const [k, v] of Object.entries(this.settings)) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      const dot = rest.indexOf('.');
      const name = dot < 0 ? rest : rest.slice(0, dot);
      const sub = dot < 0 ? '' : rest.slice(dot + 1);
      let g = out.get(name);
      if (g === undefined) out.set(name, (g = {}));
      g[sub] = v;
    }
    return out;
  }
}

/** Validates and returns a Config, or throws every problem at once. */
export function parseConfig(specs: ParamSpecs, input: Settings, opts: ValidateOptions = {}): Config {
  const { settings, errors } = validateSettings(specs, input, opts);
  if (errors.length > 0) throw errors.length === 1 && errors[0] ? errors[0] : new AggregateConfigError(errors);
  return new Config(specs, settings);
}

export class AggregateConfigError extends ConduitError {
  constructor(readonly errors: readonly ConduitError[]) {
    super(errors[0]?.code ?? Code.ParamValidation, errors.map((e) => e.message).join('; '), errors[0] ?? {});
  }
}

/** A copy of the settings with every secret value replaced by `***`. */
export function redactSettings(specs: ParamSpecs | undefined, settings: Settings): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings)) {
    const spec = specs === undefined ? undefined : specFor(specs, k);
    out[k] = spec?.secret === true || (spec === undefined && looksSecret(k)) ? REDACTED : v;
  }
  return out;
}

/** The values a log line or error message must never show. */
export function secretValues(specs: ParamSpecs, settings: Settings): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    if (v !== '' && (specFor(specs, k)?.secret === true || looksSecret(k))) out.push(v);
  }
  return out;
}

function looksSecret(key: string): boolean {
  return /(password|secret|token|apikey|api_key|private)/i.test(key);
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The nearest known name within a small edit distance, for "did you mean". */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min((prev[j] ?? 0) + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] ?? 0;
}

/** The parameter table for a connector's or processor's README. */
export function specsToMarkdown(specs: ParamSpecs): string {
  const rows = Object.entries(specs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, s]) => {
      const rules: string[] = [];
      if (s.required === true) rules.push('required');
      if (s.greaterThan !== undefined) rules.push(`> ${s.greaterThan}`);
      if (s.lessThan !== undefined) rules.push(`< ${s.lessThan}`);
      if (s.inclusion !== undefined) rules.push(`one of ${s.inclusion.map((x) => `\`${x}\``).join(', ')}`);
      if (s.exclusion !== undefined) rules.push(`not ${s.exclusion.map((x) => `\`${x}\``).join(', ')}`);
      if (s.regex !== undefined) rules.push(`matches \`${s.regex}\``);
      if (s.list === true) rules.push('comma-separated list');
      if (s.secret === true) rules.push('secret');
      const def = s.default === undefined || s.default === '' ? '' : `\`${s.default}\``;
      const cell = (text: string) => text.replace(/\|/g, '\\|');
      return `| \`${key}\` | ${s.type} | ${cell(def)} | ${cell(rules.join('; '))} | ${cell(s.description)} |`;
    });
  return ['| Name | Type | Default | Rules | Description |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** JSON Schema for a settings map (values are strings, as in pipeline files). */
export function specsToJsonSchema(specs: ParamSpecs): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const patternProperties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [key, s] of Object.entries(specs)) {
    const prop: Record<string, unknown> = { type: 'string', description: s.description };
    if (s.default !== undefined) prop['default'] = s.default;
    if (s.inclusion !== undefined && s.list !== true) prop['enum'] = [...s.inclusion];
    else if (s.regex !== undefined) prop['pattern'] = s.regex;
    else if (s.type === 'int') prop['pattern'] = '^[+-]?\\d+$';
    else if (s.type === 'bool') prop['pattern'] = '^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$';
    if (s.secret === true) prop['writeOnly'] = true;
    if (key.includes('*')) patternProperties[`^${key.split('*').map(escapeRegex).join('[^.]+')}$`] = prop;
    else properties[key] = prop;
    if (s.required === true && !key.includes('*')) required.push(key);
  }
  const schema: Record<string, unknown> = { type: 'object', properties, additionalProperties: false };
  if (Object.keys(patternProperties).length > 0) schema['patternProperties'] = patternProperties;
  if (required.length > 0) schema['required'] = required;
  return schema;
}
