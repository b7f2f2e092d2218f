/**
 * Go `text/template` with sprig functions, for Conduit pipeline files:
 * processor `condition`s, `field.set` values, `sdk.record.format` templates
 * and templated connector settings.
 *
 * ```ts
 * const t = compileTemplate('{{ eq .Metadata.kind "a" }}');
 * t.execute(record); // "true" or "false"
 * ```
 *
 * Parsing happens once and checks function names, like Go. Execution runs
 * closures built at compile time. See README.md for what differs from Go.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { compileTemplateTree, ExecFailure, type CompiledTemplate, type State } from './compile.js';
import { FUNCS, hasFunction } from './funcs.js';
import { compileJs, JsSyntaxError } from './js.js';
import { ParseError, parseTemplate, type Node } from './parse.js';
import { looksLikeRecord, RecordView } from './values.js';

export { recordView, RecordView } from './values.js';
export { sprintf, sprint, formatV as formatGoValue } from './fmt.js';
export { marshalJson as goJsonMarshal } from './json.js';

const EXEC_TAG = Symbol.for('conduit-ts.TemplateExecError');

/** A run-time template failure (wrong type, index out of range, failing function). */
export class TemplateExecError extends Error {
  /** 1-based line and column of the failing node in the template source. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly templateName: string;
  /** The failure without the location prefix, e.g. `error calling index: index out of range: 5`. */
  readonly reason: string;

  constructor(
    templateName: string,
    reason: string,
    line?: number,
    column?: number,
    context?: string,
    kind: 'template' | 'js' = 'template',
  ) {
    const where =
      line === undefined ? (kind === 'js' ? locName(templateName) : '') : `${locName(templateName)}${line}:${column}: `;
    const at = context === undefined ? '' : `executing ${JSON.stringify(templateName)} at <${context}>: `;
    super(`${kind}: ${where}${where !== '' && kind === 'js' && line === undefined ? ' ' : ''}${at}${reason}`);
    this.name = 'TemplateExecError';
    this.templateName = templateName;
    this.reason = reason;
    this.line = line;
    this.column = column;
    Object.defineProperty(this, EXEC_TAG, { value: true });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[EXEC_TAG] === true;
  }
}

export interface CompileOptions {
  /** Template name used in error messages (Go's `template.New(name)`). */
  name?: string;
  /**
   * The setting is a condition: a `js:` expression's result that is not a
   * string becomes "true" or "false" by JavaScript truthiness (a string is
   * returned as is, for the caller's ParseBool). Go templates ignore it.
   */
  condition?: boolean;
  /** The most one evaluation of a `js:` expression that calls functions may run, in ms (default 100). */
  timeoutMs?: number;
}

/** Prefix of a setting that is a JavaScript expression instead of a Go template. */
export const JS_PREFIX = 'js:';

/** A parsed template, safe to execute many times and concurrently. */
export interface Template {
  readonly name: string;
  readonly source: string;
  /** True when the template has no actions: `execute` always returns the same text. */
  readonly isConstant: boolean;
  /**
   * Executes against `data`. An OpenCDC record is seen as Go's `opencdc.Record`
   * (`.Payload.After.name`, `.Metadata.key`, ...). Throws {@link TemplateExecError}.
   */
  execute(data: unknown): string;
}

function locName(name: string): string {
  return name === '' ? '' : `${name}:`;
}

function lineCol(src: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < src.length; i++) {
    if (src.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: Buffer.byteLength(src.slice(lineStart, offset), 'utf8') + 1 };
}

function isConstantTree(nodes: Node[]): boolean {
  return nodes.every((n) => n.t === 'text');
}

/**
 * Parses a Go template once. Throws a {@link ConduitError} with code
 * `config.field_invalid` for syntax errors and unknown functions; the message
 * looks like Go's, with a 1-based column: `template: 1:4: function "foo" not defined`.
 */
export function compileTemplate(source: string, opts: CompileOptions = {}): Template {
  const name = opts.name ?? '';
  const lead = source.length - source.trimStart().length;
  if (source.startsWith(JS_PREFIX, lead)) return compileJsTemplate(source, lead + JS_PREFIX.length, name, opts);
  let parsed;
  try {
    parsed = parseTemplate(source, { hasFunction });
  } catch (e) {
    if (e instanceof ParseError) {
      const { line, column } = lineCol(source, e.offset);
      throw new ConduitError(Code.ConfigFieldInvalid, `template: ${locName(name)}${line}:${column}: ${e.message}`, {
        line,
        column,
        suggestion: 'check the Go template syntax (https://pkg.go.dev/text/template) and the sprig function names',
        cause: e,
      });
    }
    throw e;
  }
  const compiled = new Map<string, CompiledTemplate>();
  const ctx = {
    funcs: FUNCS,
    lookupTemplate: (n: string): CompiledTemplate | undefined => {
      let c = compiled.get(n);
      if (c) return c;
      const p = parsed.defines.get(n);
      if (!p) return undefined;
      c = compileTemplateTree(p, ctx);
      compiled.set(n, c);
      return c;
    },
  };
  const main = compileTemplateTree(parsed.main, ctx);
  const root = parsed.main.root;
  const constant = isConstantTree(root);
  const constText = constant ? root.map((n) => (n.t === 'text' ? n.text : '')).join('') : '';
  const slots = main.slots;
  const exec = main.exec;

  const fail = (e: unknown): never => {
    if (e instanceof ExecFailure) {
      let line: number | undefined;
      let column: number | undefined;
      let context: string | undefined;
      if (e.span) {
        ({ line, column } = lineCol(source, e.span.pos));
        context = source.slice(e.span.pos, e.span.end);
        if (context.length > 20) context = context.slice(0, 20) + '...';
      }
      throw new TemplateExecError(name, e.message, line, column, context);
    }
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new TemplateExecError(name, 'exceeded maximum template depth');
    }
    throw e;
  };

  return {
    name,
    source,
    isConstant: constant,
    execute(data: unknown): string {
      if (constant) return constText;
      const dot = looksLikeRecord(data) ? new RecordView(data) : data;
      const vars = slots === 1 ? [dot] : new Array<unknown>(slots);
      vars[0] = dot;
      const st: State = { out: '', vars, depth: 0 };
      try {
        exec(st, dot);
      } catch (e) {
        return fail(e);
      }
      return st.out;
    },
  };
}

/**
 * A `js:` setting (see README.md): a syntax error or a forbidden construct is a
 * `config.field_invalid` error `js: name:line:col: …`; a run-time failure a {@link TemplateExecError}.
 */
function compileJsTemplate(source: string, start: number, name: string, opts: CompileOptions): Template {
  let expr;
  try {
    expr = compileJs(source, start, { name, condition: opts.condition === true, timeoutMs: opts.timeoutMs ?? 100 });
  } catch (e) {
    if (e instanceof JsSyntaxError) {
      const { line, column } = lineCol(source, e.offset);
      throw new ConduitError(Code.ConfigFieldInvalid, `js: ${locName(name)}${line}:${column}: ${e.message}`, {
        line,
        column,
        suggestion:
          'write one JavaScript expression over record, $, Position, Operation, Metadata, Key, Payload ' +
          '(no functions, loops or assignments), or drop the js: prefix for a Go template',
        cause: e,
      });
    }
    throw e;
  }
  return {
    name,
    source,
    isConstant: false,
    execute(data: unknown): string {
      const r = expr.evaluate(data);
      if (r.failed) throw new TemplateExecError(name, r.text, undefined, undefined, undefined, 'js');
      return r.text;
    },
  };
}

/** Executes a template source once (compiles every call: prefer {@link compileTemplate}). */
export function renderTemplate(source: string, data: unknown, opts: CompileOptions = {}): string {
  return compileTemplate(source, opts).execute(data);
}

/** Go's strconv.ParseBool, which Conduit applies to a processor condition's output. */
export { parseBool as parseGoBool } from '../sdk/params.js';
