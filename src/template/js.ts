/**
 * `js:` settings: a JavaScript expression instead of a Go template, wherever
 * a template or condition is accepted (see README.md, "JavaScript expressions").
 *
 * - Parsed once with acorn: it must be one expression; function literals,
 *   classes, assignments, `++`/`--`, `delete`, `await`/`yield`, `import` and
 *   identifiers outside {@link SCOPE} and {@link GLOBALS} are validation errors.
 *   With no function literal there is no loop and no recursion.
 * - Runs in a `node:vm` context made once per expression: null-prototype
 *   global, code generation from strings and WebAssembly off, every intrinsic
 *   frozen, and no host object reachable (the record is copied in by the
 *   context's own prelude; the text comes back as a primitive).
 * - Cost: an expression without calls, `new`, tagged templates, regular
 *   expression literals or `**` cannot run long (its work is bounded by its
 *   size and the record's), so it is called directly (well under 1 µs).
 *   Any other runs under the vm watchdog (`timeout`), which costs about
 *   200 µs per evaluation but stops `'x'.repeat(1e9)` or a catastrophic regex.
 */
import { types } from 'node:util';
import vm from 'node:vm';
import { parseExpressionAt, tokenizer, tokTypes, type Node as AcornNode } from 'acorn';

/** The names an expression sees (besides {@link GLOBALS}). */
export const SCOPE = ['record', '$', 'Position', 'Operation', 'Metadata', 'Key', 'Payload'] as const;

/** Standard globals an expression may name. `globalThis`, `Function`, `eval`, `Proxy`, `Reflect`, `Atomics`… are not. */
export const GLOBALS: ReadonlySet<string> = new Set([
  'undefined', 'NaN', 'Infinity', 'Math', 'JSON', 'String', 'Number', 'Boolean', 'BigInt', 'Array', 'Object',
  'Date', 'RegExp', 'Symbol', 'Map', 'Set', 'Intl', 'parseInt', 'parseFloat', 'isNaN', 'isFinite',
  'encodeURIComponent', 'decodeURIComponent', 'encodeURI', 'decodeURI',
]); // prettier-ignore

const REJECTED: Record<string, string> = {
  FunctionExpression: 'function literals',
  ArrowFunctionExpression: 'function literals',
  ClassExpression: 'classes',
  AssignmentExpression: 'assignments',
  UpdateExpression: '++ and --',
  AwaitExpression: 'await',
  YieldExpression: 'yield',
  ImportExpression: 'import()',
  MetaProperty: 'import.meta and new.target',
  PrivateIdentifier: 'private names',
  Super: 'super',
};

/** A problem found while compiling: `offset` is in the whole setting text. */
export class JsSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** What a compiled expression gives back: the text, or `failed` and the reason. */
export interface JsResult {
  failed: boolean;
  text: string;
}

export interface JsOptions {
  readonly name: string;
  /** A condition: a result that is not a string becomes "true"/"false" by JavaScript truthiness. */
  readonly condition: boolean;
  readonly timeoutMs: number;
}

export interface JsExpression {
  /** True when it runs under the vm watchdog (it may call functions). */
  readonly timed: boolean;
  evaluate(data: unknown): JsResult;
}

interface Box {
  input: unknown;
  failed: boolean;
  out: string;
}

type Evaluate = (input: unknown) => string;
interface Prelude {
  install(box: Box, fn: unknown, decode: (u8: Uint8Array) => string, condition: boolean, eager: number): Evaluate;
}

/**
 * Runs inside the context, before anything of the expression. It keeps the
 * intrinsics it needs, then freezes every object reachable from the global.
 * Host values it receives (the record, the box, `decode`) stay in its closure.
 */
const PRELUDE_SOURCE = String.raw`
const __conduit_js = (() => {
  'use strict';
  const isArray = Array.isArray, isView = ArrayBuffer.isView, apply = Reflect.apply, ownKeys = Reflect.ownKeys;
  const objToString = Object.prototype.toString, getTime = Date.prototype.getTime, toISO = Date.prototype.toISOString;
  const defineProperty = Object.defineProperty, gopd = Object.getOwnPropertyDescriptor, getProto = Object.getPrototypeOf;
  const freeze = Object.freeze, stringify = JSON.stringify, S = String, D = Date, symToString = Symbol.prototype.toString;
  const keysOf = Object.keys;
  let box = null, fn = null, decode = null, condition = false, eager = 0;
  const copy = (v) => {
    if (v === null || typeof v !== 'object') return v;
    if (isView(v)) return decode(v);
    if (isArray(v)) { const out = []; for (let i = 0; i < v.length; i++) out[i] = copy(v[i]); return out; }
    if (apply(objToString, v, []) === '[object Date]') return new D(apply(getTime, v, []));
    const out = {};
    const ks = keysOf(v);
    for (let i = 0; i < ks.length; i++)
      defineProperty(out, ks[i], { value: copy(v[ks[i]]), writable: true, enumerable: true, configurable: true });
    return out;
  };
  const once = (read) => { let done = false, v; return () => (done ? v : ((done = true), (v = read()))); };
  const call = (r) => {
    if (r === null || typeof r !== 'object' || typeof r.operation !== 'string' || typeof r.payload !== 'object' || r.payload === null)
      return fn(copy(r), undefined, undefined, undefined, undefined, undefined, undefined);
    const position = copy(r.position), operation = r.operation;
    const metadata = once(() => copy(r.metadata ?? {})), key = once(() => copy(r.key));
    const before = once(() => copy(r.payload.before)), after = once(() => copy(r.payload.after));
    // Getters written in literals (enumerable and configurable, as defineProperty would make them here):
    // defining them one by one on fresh objects cost ~4.6 µs per record.
    const payload = { get before() { return before(); }, get after() { return after(); } };
    const Payload = { get Before() { return before(); }, get After() { return after(); } };
    const record = { position, operation, get metadata() { return metadata(); }, get key() { return key(); }, payload };
    const $ = { Position: position, Operation: operation, get Metadata() { return metadata(); }, get Key() { return key(); }, Payload };
    return fn(record, $, position, operation, eager & 1 ? metadata() : undefined, eager & 2 ? key() : undefined, Payload);
  };
  const text = (v) => {
    switch (typeof v) {
      case 'string': return v;
      case 'undefined': return condition ? 'false' : '<no value>';
      case 'symbol': return apply(symToString, v, []);
    }
    if (condition) return v ? 'true' : 'false';
    if (v === null) return '<nil>';
    if (typeof v !== 'object') return S(v);
    if (apply(objToString, v, []) === '[object Date]') return apply(toISO, v, []);
    const j = stringify(v, (k, x) => (typeof x === 'bigint' ? S(x) : x));
    return j === undefined ? '<no value>' : j;
  };
  const describe = (e) => {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return 'threw ' + S(e);
    let name = 'Error', message = '';
    const m = gopd(e, 'message');
    if (m !== undefined && typeof m.value === 'string') message = m.value;
    for (let p = getProto(e); p !== null; p = getProto(p)) {
      const d = gopd(p, 'name');
      if (d !== undefined) { if (typeof d.value === 'string') name = d.value; break; }
    }
    return name + ': ' + message;
  };
  const evaluate = (input) => {
    try {
      const out = text(call(input));
      box.failed = false;
      return out;
    } catch (e) {
      box.failed = true;
      try { return describe(e); } catch { return 'the expression failed'; }
    }
  };
  const lockdown = () => {
    const seen = new Set(), todo = [globalThis];
    while (todo.length > 0) {
      const o = todo.pop();
      if (seen.has(o)) continue;
      seen.add(o);
      const ks = ownKeys(o);
      for (let i = 0; i < ks.length; i++) {
        const d = gopd(o, ks[i]);
        if (d === undefined) continue;
        for (const x of [d.value, d.get, d.set]) if ((typeof x === 'object' && x !== null) || typeof x === 'function') todo.push(x);
      }
      const p = getProto(o);
      if (p !== null) todo.push(p);
      if (o !== globalThis) freeze(o);
    }
    try { freeze(globalThis); } catch { /* a vm global may refuse: its properties are frozen objects anyway */ }
  };
  return {
    install(b, f, dec, cond, eag) {
      box = b; fn = f; decode = dec; condition = cond; eager = eag;
      lockdown();
      return evaluate;
    },
    run() { box.out = evaluate(box.input); },
  };
})();
`;

const PRELUDE = new vm.Script(PRELUDE_SOURCE, { filename: 'conduit:js-prelude' });
const GET_PRELUDE = new vm.Script('__conduit_js', { filename: 'conduit:js-prelude' });
const RUN = new vm.Script('__conduit_js.run()', { filename: 'conduit:js-run' });

const decodeUtf8 = (u8: Uint8Array): string => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('utf8');

/** Parses and checks the expression that starts at `start` in `source` (just after `js:`). */
function check(source: string, start: number): { timed: boolean; names: Set<string> } {
  let root: AcornNode;
  try {
    root = parseExpressionAt(source, start, { ecmaVersion: 'latest', sourceType: 'script', preserveParens: true });
  } catch (e) {
    const err = e as SyntaxError & { pos?: number };
    throw new JsSyntaxError(err.message.replace(/ \(\d+:\d+\)$/, ''), err.pos ?? start);
  }
  const rest = tokenizer(source.slice(root.end), { ecmaVersion: 'latest' });
  let tok;
  try {
    tok = rest.getToken();
  } catch {
    tok = undefined;
  }
  if (tok?.type !== tokTypes.eof) {
    throw new JsSyntaxError(
      'unexpected text after the expression (a js: setting is one expression)',
      root.end + (tok?.start ?? 0),
    );
  }
  let timed = false;
  const names = new Set<string>();
  const visit = (n: AcornNode, bindingKey = false): void => {
    const node = n as AcornNode & Record<string, unknown>;
    const what = REJECTED[node.type];
    if (what !== undefined || (node.type === 'UnaryExpression' && node.operator === 'delete')) {
      throw new JsSyntaxError(`${what ?? 'delete'} not allowed in a js: expression`, node.start);
    }
    switch (node.type) {
      case 'CallExpression':
      case 'NewExpression':
      case 'TaggedTemplateExpression':
        timed = true;
        break;
      case 'BinaryExpression':
        if (node.operator === '**') timed = true;
        break;
      case 'Literal':
        if (node.regex !== undefined || node.bigint !== undefined) timed = true;
        break;
      case 'Identifier': {
        if (bindingKey) return;
        const id = node.name as string;
        if (!(SCOPE as readonly string[]).includes(id) && !GLOBALS.has(id)) {
          throw new JsSyntaxError(
            `${JSON.stringify(id)} is not defined (in scope: ${SCOPE.join(', ')} and standard globals such as Math, JSON, String)`,
            node.start,
          );
        }
        names.add(id);
        return;
      }
    }
    for (const [k, v] of Object.entries(node)) {
      // a property name (`a.b`, `{ b: 1 }`) is not a variable
      const isName =
        ((node.type === 'MemberExpression' && k === 'property') || (node.type === 'Property' && k === 'key')) &&
        node.computed !== true;
      if (Array.isArray(v)) {
        for (const c of v) if (isNode(c)) visit(c);
      } else if (isNode(v)) visit(v, isName);
    }
  };
  visit(root);
  return { timed, names };
}

function isNode(v: unknown): v is AcornNode {
  return typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string';
}

/** Compiles the expression starting at `start` in `source`. Throws {@link JsSyntaxError}. */
export function compileJs(source: string, start: number, opts: JsOptions): JsExpression {
  const { timed, names } = check(source, start);
  const context = vm.createContext(Object.create(null) as object, {
    name: opts.name === '' ? 'js' : opts.name,
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  let fn: unknown;
  try {
    // The text was checked to be exactly one expression; the newline ends a trailing // comment.
    fn = new vm.Script(`(function (${SCOPE.join(', ')}) { 'use strict'; return (${source.slice(start)}\n); })`, {
      filename: opts.name === '' ? 'js' : opts.name,
    }).runInContext(context);
  } catch (e) {
    throw new JsSyntaxError(e instanceof Error ? e.message : 'invalid expression', start);
  }
  PRELUDE.runInContext(context);
  const prelude = GET_PRELUDE.runInContext(context) as Prelude;
  const box = Object.create(null) as Box;
  box.input = null;
  box.failed = false;
  box.out = '';
  const eager = (names.has('Metadata') ? 1 : 0) | (names.has('Key') ? 2 : 0);
  const evaluate = prelude.install(box, fn, decodeUtf8, opts.condition, eager);
  if (!timed) {
    return {
      timed,
      evaluate(data) {
        const text = evaluate(data);
        return { failed: box.failed, text };
      },
    };
  }
  return {
    timed,
    evaluate(data) {
      box.input = data;
      box.out = '';
      box.failed = true;
      try {
        RUN.runInContext(context, { timeout: opts.timeoutMs, breakOnSigint: false });
        return { failed: box.failed, text: box.out };
      } catch (e) {
        if (isVmTimeout(e)) {
          return {
            failed: true,
            text: `the expression ran past its time budget of ${opts.timeoutMs} ms and was stopped`,
          };
        }
        return { failed: true, text: 'the expression failed' };
      } finally {
        box.input = null;
      }
    },
  };
}

/**
 * True for the error node:vm throws when a run passes its `timeout`: recognised by its own data
 * property `code`, read without running script code.
 */
export function isVmTimeout(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || types.isProxy(e) || !types.isNativeError(e)) return false;
  const d = Object.getOwnPropertyDescriptor(e, 'code');
  return d !== undefined && 'value' in d && d.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}
