/**
 * Turns the parsed template into closures, once. Executing a template then
 * walks no AST: each node is a function, field chains are pre-split, and the
 * common record accesses (`.Payload.After.x`, `.Metadata.x`) read the record
 * directly without building views.
 */
import { formatV } from './fmt.js';
import { FuncError, FUNCS, type FuncDef, type ParamType } from './funcs.js';
import { argText, type Arg, type Cmd, type Node, type ParsedTemplate, type Pipe, type Span } from './parse.js';
import {
  ChangeView,
  dataValue,
  GoTime,
  isPlainMap,
  isTrue,
  MetadataView,
  NIL_DATA,
  OperationView,
  operationView,
  PositionView,
  RecordView,
  sortedKeys,
  toIface,
  typeName,
} from './values.js';
import { formatTime } from './time.js';

/** Execution state: the output so far and the variable frame. */
export interface State {
  out: string;
  vars: unknown[];
  depth: number;
}

export type Exec = (st: State, dot: unknown) => void;
type Eval = (st: State, dot: unknown) => unknown;
type CmdEval = (st: State, dot: unknown, final: unknown) => unknown;

/** An execution failure; `span` is filled in by the innermost node that knows its place. */
export class ExecFailure extends Error {
  constructor(
    message: string,
    public span: Span | null = null,
  ) {
    super(message);
  }
}

const MISSING: unique symbol = Symbol('missing');
/** Control-flow signals for {{break}} and {{continue}}; preallocated, never escape a range. */
class LoopSignal extends Error {}
const BREAK = new LoopSignal('break');
const CONTINUE = new LoopSignal('continue');
const MAX_DEPTH = 1000;

const fail = (msg: string, span: Span | null = null): never => {
  throw new ExecFailure(msg, span);
};

function own(o: Record<string, unknown>, k: string): unknown {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v === 'function' && !Object.prototype.hasOwnProperty.call(o, k)) return undefined;
  return v;
}

// ---------------------------------------------------------------- fields and methods

/** Evaluates `.name` on a receiver the way Go's evalField does (zero-argument methods included). */
export function getField(recv: unknown, name: string): unknown {
  if (recv === undefined) return undefined; // nil data: missing key semantics
  if (typeof recv === 'object' && recv !== null) {
    if (recv instanceof RecordView) {
      const r = recv.record;
      switch (name) {
        case 'Position':
          return new PositionView(r.position);
        case 'Operation':
          return operationView(r.operation);
        case 'Metadata':
          return new MetadataView(r.metadata);
        case 'Key':
          return dataValue(r.key);
        case 'Payload':
          return new ChangeView(r.payload);
      }
    } else if (recv instanceof ChangeView) {
      if (name === 'Before') return dataValue(recv.change.before);
      if (name === 'After') return dataValue(recv.change.after);
    } else if (recv instanceof MetadataView) {
      return own(recv.map, name);
    } else if (isPlainMap(recv)) {
      return own(recv, name);
    }
  }
  const m = method(recv, name);
  if (m) return m([]);
  if (recv === null) return fail(`nil pointer evaluating interface {}.${name}`);
  if (recv === NIL_DATA) return fail(`nil pointer evaluating opencdc.Data.${name}`);
  return fail(`can't evaluate field ${name} in type ${typeName(recv)}`);
}

type Method = (args: unknown[]) => unknown;

function method(recv: unknown, name: string): Method | null {
  if (recv instanceof OperationView || recv instanceof PositionView) {
    if (name === 'String') return () => recv.String();
    return null;
  }
  if (recv instanceof Uint8Array && name === 'Bytes') return () => recv;
  if (recv instanceof GoTime || recv instanceof Date) {
    const t = recv instanceof Date ? GoTime.fromDate(recv) : recv;
    switch (name) {
      case 'Unix':
        return () => BigInt(Math.floor(t.ms / 1000));
      case 'UnixMilli':
        return () => BigInt(Math.floor(t.ms));
      case 'UnixNano':
        return () => BigInt(Math.floor(t.ms)) * 1000000n + BigInt(t.nsExtra);
      case 'String':
        return () => formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST');
      case 'UTC':
        return () => new GoTime(t.ms, t.nsExtra, true);
      case 'Year':
        return () => BigInt(Number(formatTime(t, '2006')));
      case 'Format':
        return (args) => {
          if (args.length !== 1) fail(`wrong number of args for Format: want 1 got ${args.length}`);
          const layout = args[0];
          if (typeof layout !== 'string') fail(`wrong type for value; expected string; got ${typeName(layout)}`);
          return formatTime(t, layout as string);
        };
    }
  }
  return null;
}

/** The last element of a chain, which receives arguments when it is a method. */
function callField(recv: unknown, name: string, args: unknown[]): unknown {
  const m = method(recv, name);
  if (m) return m(args);
  if (recv instanceof MetadataView || isPlainMap(recv)) return fail(`${name} is not a method but has arguments`);
  if (recv instanceof RecordView || recv instanceof ChangeView) {
    return fail(`${name} has arguments but cannot be invoked as function`);
  }
  getField(recv, name); // reports the right error for other receivers
  return fail(`${name} is not a method but has arguments`);
}

// ---------------------------------------------------------------- compiler

export interface CompileContext {
  funcs: Record<string, FuncDef>;
  lookupTemplate: (name: string) => CompiledTemplate | undefined;
}

export interface CompiledTemplate {
  exec: Exec;
  slots: number;
}

export function compileTemplateTree(t: ParsedTemplate, ctx: CompileContext): CompiledTemplate {
  const c = new Compiler(ctx);
  return { exec: c.list(t.root), slots: t.slots };
}

/** What `{{ pipeline }}` prints. */
export function printValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'function') return fail(`can't print value of type func`);
  return formatV(v);
}

/** Attaches the node's place to failures raised below it (fixed arity: no rest-argument arrays). */
function withSpan<T extends (st: State, dot: unknown, final: unknown) => unknown>(span: Span, f: T): T {
  return ((st: State, dot: unknown, final: unknown) => {
    try {
      return f(st, dot, final);
    } catch (e) {
      if (e instanceof ExecFailure && e.span === null) e.span = span;
      throw e;
    }
  }) as T;
}

class Compiler {
  constructor(private readonly ctx: CompileContext) {}

  list(nodes: Node[]): Exec {
    const execs = nodes.map((n) => this.node(n));
    if (execs.length === 0) return () => {};
    if (execs.length === 1) return execs[0]!;
    if (execs.length === 2) {
      const [a, b] = execs as [Exec, Exec];
      return (st, dot) => {
        a(st, dot);
        b(st, dot);
      };
    }
    return (st, dot) => {
      for (let i = 0; i < execs.length; i++) execs[i]!(st, dot);
    };
  }

  node(n: Node): Exec {
    switch (n.t) {
      case 'text': {
        const text = n.text;
        return (st) => {
          st.out += text;
        };
      }
      case 'action': {
        const pipe = this.pipe(n.pipe);
        if (n.pipe.decl.length > 0) return (st, dot) => void pipe(st, dot);
        return (st, dot) => {
          st.out += printValue(pipe(st, dot));
        };
      }
      case 'if':
      case 'with': {
        const pipe = this.pipe(n.pipe);
        const body = this.list(n.list);
        const elseBody = n.elseList ? this.list(n.elseList) : null;
        const isWith = n.t === 'with';
        return (st, dot) => {
          const v = pipe(st, dot);
          if (isTrue(v)) body(st, isWith ? v : dot);
          else if (elseBody) elseBody(st, dot);
        };
      }
      case 'range':
        return this.range(n);
      case 'break':
        return () => {
          throw BREAK;
        };
      case 'continue':
        return () => {
          throw CONTINUE;
        };
      case 'template': {
        const pipe = n.pipe ? this.pipe(n.pipe) : null;
        const name = n.name;
        const lookup = this.ctx.lookupTemplate;
        return withSpan(n, (st: State, dot: unknown) => {
          const t = lookup(name);
          if (!t) fail(`template ${JSON.stringify(name)} not defined`);
          if (st.depth >= MAX_DEPTH) fail(`exceeded maximum template depth (${MAX_DEPTH})`);
          const newDot = pipe ? pipe(st, dot) : undefined;
          const vars = new Array<unknown>(t!.slots);
          vars[0] = newDot;
          const inner: State = { out: '', vars, depth: st.depth + 1 };
          t!.exec(inner, newDot);
          st.out += inner.out;
        });
      }
    }
  }

  private range(n: Extract<Node, { t: 'range' }>): Exec {
    const pipe = this.pipe({ ...n.pipe, decl: [] });
    const body = this.list(n.list);
    const elseBody = n.elseList ? this.list(n.elseList) : null;
    const decl = n.pipe.decl;
    const elemSlot = decl.length === 1 ? decl[0]! : decl.length === 2 ? decl[1]! : -1;
    const keySlot = decl.length === 2 ? decl[0]! : -1;
    const span: Span = n.pipe;
    const iter = (st: State, key: unknown, elem: unknown): boolean => {
      if (elemSlot >= 0) st.vars[elemSlot] = elem;
      if (keySlot >= 0) st.vars[keySlot] = key;
      try {
        body(st, elem);
      } catch (e) {
        if (e === BREAK) return false;
        if (e !== CONTINUE) throw e;
      }
      return true;
    };
    return (st, dot) => {
      const v = pipe(st, dot);
      let count = 0;
      if (Array.isArray(v)) {
        count = v.length;
        for (let i = 0; i < v.length; i++) if (!iter(st, BigInt(i), v[i])) break;
      } else if (v instanceof Uint8Array) {
        count = v.length;
        for (let i = 0; i < v.length; i++) if (!iter(st, BigInt(i), BigInt(v[i]!))) break;
      } else if (v instanceof MetadataView || isPlainMap(v)) {
        const m = v instanceof MetadataView ? v.map : v;
        const keys = sortedKeys(m);
        count = keys.length;
        for (const k of keys) if (!iter(st, k, m[k])) break;
      } else if (typeof v === 'bigint') {
        // Go 1.22: range over an integer
        count = v > 0n ? Number(v) : 0;
        for (let i = 0; i < count; i++) if (!iter(st, BigInt(i), BigInt(i))) break;
      } else if (v === undefined || v === null || v === NIL_DATA) {
        count = 0;
      } else {
        fail(`range can't iterate over ${formatV(v)}`, span);
      }
      if (count === 0 && elseBody) elseBody(st, dot);
    };
  }

  pipe(p: Pipe): Eval {
    const cmds = p.cmds.map((c) => this.command(c));
    const decl = p.decl;
    let run: Eval;
    if (cmds.length === 1) {
      const c0 = cmds[0]!;
      run = (st, dot) => c0(st, dot, MISSING);
    } else {
      run = (st, dot) => {
        let v: unknown = MISSING;
        for (let i = 0; i < cmds.length; i++) v = cmds[i]!(st, dot, v);
        return v;
      };
    }
    if (decl.length === 0) return run;
    return (st, dot) => {
      const v = run(st, dot);
      for (const slot of decl) st.vars[slot] = v;
      return v;
    };
  }

  private command(c: Cmd): CmdEval {
    const first = c.args[0]!;
    const rest = c.args.slice(1);
    switch (first.t) {
      case 'ident':
        return this.call(first.name, rest, c);
      case 'field':
        return this.chain(first, (_st, dot) => dot, first.idents, rest);
      case 'var': {
        const slot = first.slot;
        const base: Eval = (st) => st.vars[slot];
        if (first.idents.length === 0) return this.notAFunction(base, c, first);
        return this.chain(first, base, first.idents, rest);
      }
      case 'chain': {
        const base = this.operand(first.node);
        return this.chain(first, base, first.idents, rest);
      }
      case 'pipe':
        return this.notAFunction(this.pipe(first.pipe), c, first);
      case 'nil':
        return withSpan(first, () => fail('nil is not a command'));
      default:
        return this.notAFunction(this.operand(first), c, first);
    }
  }

  private notAFunction(e: Eval, c: Cmd, first: Arg): CmdEval {
    const hasArgs = c.args.length > 1;
    const desc = argText(first);
    return (st, dot, final) => {
      if (hasArgs || final !== MISSING) fail(`can't give argument to non-function ${desc}`, first);
      return e(st, dot);
    };
  }

  /** A chain of field names after a base value; the last may be a method with arguments. */
  private chain(span: Span, base: Eval, idents: string[], argNodes: Arg[]): CmdEval {
    const args = argNodes.map((a) => this.arg(a, 'any'));
    const n = idents.length;
    const head = idents.slice(0, n - 1);
    const last = idents[n - 1]!;
    const walk = fastChain(base, idents);
    const walkHead = fastChain(base, head);
    return withSpan(span, (st: State, dot: unknown, final: unknown) => {
      if (args.length === 0 && final === MISSING) return walk(st, dot);
      const recv = walkHead(st, dot);
      const vals = args.map((a) => a(st, dot));
      if (final !== MISSING) vals.push(final);
      return callField(recv, last, vals);
    });
  }

  /** An operand in argument position, not yet converted to a parameter type. */
  private operand(a: Arg): Eval {
    switch (a.t) {
      case 'dot':
        return (_st, dot) => dot;
      case 'string': {
        const v = a.value;
        return () => v;
      }
      case 'bool': {
        const v = a.value;
        return () => v;
      }
      case 'nil':
        return () => null;
      case 'number': {
        const v = idealConstant(a);
        return withSpan(a, () => (v instanceof ExecFailure ? fail(v.message) : v));
      }
      case 'field':
        return withSpan(
          a,
          fastChain((_st, dot) => dot, a.idents),
        );
      case 'var': {
        const slot = a.slot;
        const base: Eval = (st) => st.vars[slot];
        return a.idents.length === 0 ? base : withSpan(a, fastChain(base, a.idents));
      }
      case 'chain':
        return withSpan(a, fastChain(this.operand(a.node), a.idents));
      case 'pipe':
        return this.pipe(a.pipe);
      case 'ident': {
        const c = this.call(a.name, [], a);
        return (st, dot) => c(st, dot, MISSING);
      }
    }
  }

  /** An argument converted to a Go parameter type (Go's evalArg + validateType). */
  private arg(a: Arg, type: ParamType): Eval {
    // literals are checked against the parameter type like Go's evalArg
    if (type === 'int' && (a.t === 'string' || a.t === 'bool' || a.t === 'number')) {
      const ok = a.t === 'number' && a.int !== null && !/[.eEpP]/.test(a.text.replace(/^[+-]?0[xX][0-9a-fA-F_]+$/, ''));
      const msg = `expected integer; found ${argText(a)}`;
      const v = ok ? Number((a as { int: bigint }).int) : null;
      return withSpan(a, () => (v === null ? fail(msg) : v));
    }
    if (type === 'string' && (a.t === 'number' || a.t === 'bool')) {
      const msg = `expected string; found ${argText(a)}`;
      return withSpan(a, () => fail(msg));
    }
    if (type === 'bool' && (a.t === 'number' || a.t === 'string')) {
      const msg = `expected bool; found ${argText(a)}`;
      return withSpan(a, () => fail(msg));
    }
    if (a.t === 'nil') {
      if (type === 'any' || type === 'map') return () => null;
      if (type === 'value') return () => undefined;
      const msg = `cannot assign nil to ${goType(type)}`;
      return withSpan(a, () => fail(msg));
    }
    const e = this.operand(a);
    if (type === 'value') return e;
    if (type === 'any') return (st, dot) => toIface(e(st, dot));
    return withSpan(a, (st: State, dot: unknown) => convert(e(st, dot), type));
  }

  private call(name: string, argNodes: Arg[], span: Span): CmdEval {
    const def = this.ctx.funcs[name];
    if (!def) return withSpan(span, () => fail(`${JSON.stringify(name)} is not a defined function`));
    if (name === 'and' || name === 'or') return this.andOr(name === 'or', argNodes, span);
    const nFixed = def.params.length;
    const variadic = def.variadic;
    const typeAt = (i: number): ParamType => (i < nFixed ? def.params[i]! : (variadic ?? 'any'));
    const args = argNodes.map((a, i) => this.arg(a, typeAt(i)));
    const fn = def.fn;
    const nArgs = args.length;
    return withSpan(span, (st: State, dot: unknown, final: unknown) => {
      const hasFinal = final !== MISSING;
      const numIn = nArgs + (hasFinal ? 1 : 0);
      if (variadic !== undefined) {
        if (numIn < nFixed) fail(`wrong number of args for ${name}: want at least ${nFixed} got ${numIn}`);
      } else if (numIn !== nFixed) {
        fail(`wrong number of args for ${name}: want ${nFixed} got ${numIn}`);
      }
      let vals: unknown[];
      switch (numIn) {
        case 0:
          vals = [];
          break;
        case 1:
          vals = [hasFinal ? convert(final, typeAt(0)) : args[0]!(st, dot)];
          break;
        case 2:
          vals = [args[0]!(st, dot), hasFinal ? convert(final, typeAt(1)) : args[1]!(st, dot)];
          break;
        default:
          vals = new Array<unknown>(numIn);
          for (let i = 0; i < nArgs; i++) vals[i] = args[i]!(st, dot);
          if (hasFinal) vals[nArgs] = convert(final, typeAt(nArgs));
      }
      try {
        return fn(...vals);
      } catch (e) {
        if (e instanceof ExecFailure) throw e;
        if (e instanceof FuncError || e instanceof Error) fail(`error calling ${name}: ${e.message}`);
        throw e;
      }
    });
  }

  private andOr(isOr: boolean, argNodes: Arg[], span: Span): CmdEval {
    const args = argNodes.map((a) => this.arg(a, 'value'));
    const name = isOr ? 'or' : 'and';
    return withSpan(span, (st: State, dot: unknown, final: unknown) => {
      const numIn = args.length + (final === MISSING ? 0 : 1);
      if (numIn < 1) fail(`wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (let i = 0; i < args.length; i++) {
        v = args[i]!(st, dot);
        if (isTrue(v) === isOr) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    });
  }
}

/** Walks `.a.b.c` from a base, reading records directly for the common shapes. */
function fastChain(base: Eval, idents: string[]): Eval {
  const n = idents.length;
  if (n === 0) return base;
  const [a, b, c] = idents;
  // .Payload.After.x / .Payload.Before.x without building views
  if (a === 'Payload' && (b === 'After' || b === 'Before')) {
    const after = b === 'After';
    const rest = idents.slice(2);
    return (st, dot) => {
      const recv = base(st, dot);
      if (recv instanceof RecordView) {
        const d = after ? recv.record.payload.after : recv.record.payload.before;
        if (rest.length === 1 && d !== null && isPlainMap(d)) return own(d, c!);
        let v: unknown = dataValue(d);
        for (let i = 0; i < rest.length; i++) v = getField(v, rest[i]!);
        return v;
      }
      let v = recv;
      for (let i = 0; i < n; i++) v = getField(v, idents[i]!);
      return v;
    };
  }
  if (a === 'Metadata' && n === 2) {
    return (st, dot) => {
      const recv = base(st, dot);
      if (recv instanceof RecordView) return own(recv.record.metadata, b!);
      return getField(getField(recv, a), b!);
    };
  }
  if (n === 1) return (st, dot) => getField(base(st, dot), a!);
  return (st, dot) => {
    let v = base(st, dot);
    for (let i = 0; i < n; i++) v = getField(v, idents[i]!);
    return v;
  };
}

function goType(t: ParamType): string {
  switch (t) {
    case 'map':
      return 'map[string]interface {}';
    case 'time':
      return 'time.Time';
    case 'value':
      return 'reflect.Value';
    case 'any':
      return 'interface {}';
    default:
      return t;
  }
}

/** Go's validateType for a computed value. */
function convert(v: unknown, type: ParamType): unknown {
  switch (type) {
    case 'value':
      return v;
    case 'any':
      return toIface(v);
    case 'string':
      if (typeof v === 'string') return v;
      break;
    case 'int':
      if (typeof v === 'bigint') return Number(v);
      break;
    case 'bool':
      if (typeof v === 'boolean') return v;
      break;
    case 'map':
      if (v === null || v === undefined || v === NIL_DATA) return null;
      if (isPlainMap(v)) return v;
      break;
    case 'time':
      if (v instanceof GoTime) return v;
      if (v instanceof Date) return GoTime.fromDate(v);
      break;
  }
  if (v === undefined) return fail(`invalid value; expected ${goType(type)}`);
  const got = v === null ? 'interface {}' : typeName(v);
  return fail(`wrong type for value; expected ${goType(type)}; got ${got}`);
}

/** A number literal where no type is known: int when it looks like one, else float64. */
function idealConstant(a: Extract<Arg, { t: 'number' }>): unknown {
  const t = a.text;
  const isHexInt = /^[+-]?0[xX]/.test(t) && !/[pP]/.test(t);
  const isRune = t.startsWith("'");
  if (!isHexInt && !isRune && /[.eEpP]/.test(t)) return a.float;
  if (a.int !== null) {
    if (a.int > 0x7fffffffffffffffn || a.int < -0x8000000000000000n) return new ExecFailure(`${t} overflows int`);
    return a.int;
  }
  return new ExecFailure(`${t} overflows int`);
}

export { FUNCS };
