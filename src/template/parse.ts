/**
 * Lexer and parser for Go `text/template` source. Produces a small AST that
 * `compile.ts` turns into closures. Variables are resolved to frame slots here,
 * and function names are checked against the function table, as Go does at
 * parse time.
 */

export class ParseError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

// ---------------------------------------------------------------- AST

export interface Span {
  pos: number;
  end: number;
}

export type Arg =
  | (Span & { t: 'field'; idents: string[] })
  | (Span & { t: 'dot' })
  | (Span & { t: 'var'; name: string; slot: number; idents: string[] })
  | (Span & { t: 'ident'; name: string })
  | (Span & { t: 'string'; value: string })
  | (Span & { t: 'number'; int: bigint | null; float: number | null; text: string })
  | (Span & { t: 'bool'; value: boolean })
  | (Span & { t: 'nil' })
  | (Span & { t: 'pipe'; pipe: Pipe })
  | (Span & { t: 'chain'; node: Arg; idents: string[] });

export interface Cmd extends Span {
  args: Arg[];
}

export interface Pipe extends Span {
  decl: number[];
  isAssign: boolean;
  cmds: Cmd[];
}

export type Node =
  | { t: 'text'; text: string }
  | (Span & { t: 'action'; pipe: Pipe })
  | (Span & { t: 'if' | 'with'; pipe: Pipe; list: Node[]; elseList: Node[] | null })
  | (Span & { t: 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | null })
  | (Span & { t: 'template'; name: string; pipe: Pipe | null })
  | (Span & { t: 'break' | 'continue' });

export interface ParsedTemplate {
  root: Node[];
  slots: number;
}

export interface ParseResult {
  main: ParsedTemplate;
  defines: Map<string, ParsedTemplate>;
}

// ---------------------------------------------------------------- lexer

type Tok =
  | 'text'
  | 'left'
  | 'right'
  | 'space'
  | 'ident'
  | 'keyword'
  | 'field'
  | 'var'
  | 'string'
  | 'raw'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'dot'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'eof';

interface Token {
  typ: Tok;
  val: string;
  pos: number;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlnum(c: string | undefined): boolean {
  if (c === undefined) return false;
  return c === '_' || /[\p{L}\p{Nd}]/u.test(c);
}

function lex(src: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf('{{', i);
    let textEnd = open < 0 ? src.length : open;
    let actionStart = open < 0 ? -1 : open + 2;
    let trimLeft = false;
    if (open >= 0 && src[open + 2] === '-' && isSpace(src[open + 3])) {
      trimLeft = true;
      actionStart = open + 3;
    }
    let text = src.slice(i, textEnd);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    trimNext = false;
    if (text !== '') toks.push({ typ: 'text', val: text, pos: i });
    if (open < 0) break;
    textEnd = open;
    // comment
    let j = actionStart;
    while (trimLeft && isSpace(src[j])) j++;
    if (src.startsWith('/*', j)) {
      const close = src.indexOf('*/', j + 2);
      if (close < 0) throw new ParseError('unclosed comment', open);
      const k = close + 2;
      if (isSpace(src[k]) && src[k + 1] === '-' && src.startsWith('}}', k + 2)) {
        trimNext = true;
        i = k + 4;
      } else if (src.startsWith('}}', k)) {
        i = k + 2;
      } else {
        throw new ParseError('comment ends before closing delimiter', open);
      }
      continue;
    }
    toks.push({ typ: 'left', val: '{{', pos: open });
    i = lexAction(src, actionStart, toks);
    if (i < 0) {
      trimNext = true;
      i = -i;
    }
  }
  toks.push({ typ: 'eof', val: '', pos: src.length });
  return toks;
}

/** Lexes inside an action; returns the offset after `}}` (negated when `-}}` trims). */
function lexAction(src: string, start: number, toks: Token[]): number {
  let i = start;
  let parens = 0;
  const err = (msg: string, at: number): never => {
    throw new ParseError(msg, at);
  };
  for (;;) {
    if (i >= src.length) err('unclosed action', start);
    const c = src[i]!;
    // right delimiter, possibly with trim marker
    if (isSpace(c) && src[i + 1] === '-' && src.startsWith('}}', i + 2)) {
      if (parens > 0) err('unclosed left paren', i);
      toks.push({ typ: 'right', val: '}}', pos: i + 1 });
      return -(i + 4);
    }
    if (c === '}' && src[i + 1] === '}') {
      if (parens > 0) err('unclosed left paren', i);
      toks.push({ typ: 'right', val: '}}', pos: i });
      return i + 2;
    }
    if (isSpace(c)) {
      let j = i;
      while (isSpace(src[j]) && !(src[j + 1] === '-' && src.startsWith('}}', j + 2))) {
        if (src[j] === '\n' && parens === 0) {
          /* newlines are allowed inside actions since Go 1.16 */
        }
        j++;
      }
      if (j === i) j = i + 1;
      toks.push({ typ: 'space', val: src.slice(i, j), pos: i });
      i = j;
      continue;
    }
    if (c === '=') {
      toks.push({ typ: 'assign', val: '=', pos: i });
      i++;
      continue;
    }
    if (c === ':') {
      if (src[i + 1] !== '=') err('expected :=', i);
      toks.push({ typ: 'declare', val: ':=', pos: i });
      i += 2;
      continue;
    }
    if (c === '|') {
      toks.push({ typ: 'pipe', val: '|', pos: i });
      i++;
      continue;
    }
    if (c === ',') {
      toks.push({ typ: 'comma', val: ',', pos: i });
      i++;
      continue;
    }
    if (c === '(') {
      parens++;
      toks.push({ typ: 'lparen', val: '(', pos: i });
      i++;
      continue;
    }
    if (c === ')') {
      parens--;
      if (parens < 0) err('unexpected right paren', i);
      toks.push({ typ: 'rparen', val: ')', pos: i });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      for (;;) {
        const d = src[j];
        if (d === undefined || d === '\n') err('unterminated quoted string', i);
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (d === '"') break;
        j++;
      }
      toks.push({ typ: 'string', val: src.slice(i, j + 1), pos: i });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) err('unterminated raw quoted string', i);
      toks.push({ typ: 'raw', val: src.slice(i, j + 1), pos: i });
      i = j + 1;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      for (;;) {
        const d = src[j];
        if (d === undefined || d === '\n') err('unterminated character constant', i);
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (d === "'") break;
        j++;
      }
      toks.push({ typ: 'char', val: src.slice(i, j + 1), pos: i });
      i = j + 1;
      continue;
    }
    if (c === '$') {
      let j = i + 1;
      while (isAlnum(src[j])) j++;
      toks.push({ typ: 'var', val: src.slice(i, j), pos: i });
      i = j;
      continue;
    }
    if (c === '.') {
      const d = src[i + 1];
      if (d !== undefined && d >= '0' && d <= '9') {
        i = lexNumber(src, i, toks);
        continue;
      }
      if (isAlnum(d)) {
        let j = i + 1;
        while (isAlnum(src[j])) j++;
        toks.push({ typ: 'field', val: src.slice(i, j), pos: i });
        i = j;
        continue;
      }
      toks.push({ typ: 'dot', val: '.', pos: i });
      i++;
      continue;
    }
    if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
      i = lexNumber(src, i, toks);
      continue;
    }
    if (isAlnum(c)) {
      let j = i;
      while (isAlnum(src[j])) j++;
      const word = src.slice(i, j);
      const typ: Tok = KEYWORDS.has(word)
        ? 'keyword'
        : word === 'true' || word === 'false'
          ? 'bool'
          : word === 'nil'
            ? 'nil'
            : 'ident';
      toks.push({ typ, val: word, pos: i });
      i = j;
      continue;
    }
    const cp = src.codePointAt(i)!;
    err(
      `unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${String.fromCodePoint(cp)}'`,
      i,
    );
  }
}

const NUMBER_RE =
  /^[+-]?(?:0[xX](?:[0-9a-fA-F_]*\.?[0-9a-fA-F_]*)(?:[pP][+-]?[0-9_]+)?|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?)i?/;

function lexNumber(src: string, i: number, toks: Token[]): number {
  const m = NUMBER_RE.exec(src.slice(i, i + 200));
  let j = i + (m ? m[0].length : 0);
  if (isAlnum(src[j]) || src[j] === '.') {
    while (isAlnum(src[j]) || src[j] === '.') j++;
    throw new ParseError(`bad number syntax: ${JSON.stringify(src.slice(i, j))}`, i);
  }
  if (j === i || /^[+-]?$/.test(src.slice(i, j))) {
    throw new ParseError(`bad number syntax: ${JSON.stringify(src.slice(i, Math.max(j, i + 1)))}`, i);
  }
  toks.push({ typ: 'number', val: src.slice(i, j), pos: i });
  return j;
}

// ---------------------------------------------------------------- literals

/** Unquotes a Go interpreted string literal (with its quotes). */
export function unquoteGo(lit: string, quote: '"' | "'"): string {
  const body = lit.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      if (c === quote) throw new Error('invalid syntax');
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case "'":
      case '"':
        if (e !== quote) throw new Error('invalid syntax');
        out += e;
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error('invalid syntax');
        // a \x escape is one byte; bytes >= 0x80 are kept as Latin-1 (rare in templates)
        out += String.fromCharCode(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const n = e === 'u' ? 4 : 8;
        const h = body.slice(i + 1, i + 1 + n);
        if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Error('invalid syntax');
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new Error('invalid syntax');
        out += String.fromCodePoint(cp);
        i += n;
        break;
      }
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) throw new Error('invalid syntax');
          const v = parseInt(o, 8);
          if (v > 255) throw new Error('invalid syntax');
          out += String.fromCharCode(v);
          i += 2;
          break;
        }
        throw new Error('invalid syntax');
    }
  }
  return out;
}

function parseNumber(text: string, pos: number): { int: bigint | null; float: number | null } {
  const bad = (): never => {
    throw new ParseError(`bad number syntax: ${JSON.stringify(text)}`, pos);
  };
  if (text.startsWith("'")) {
    let s: string;
    try {
      s = unquoteGo(text, "'");
    } catch {
      return bad();
    }
    const cp = s.codePointAt(0);
    if (cp === undefined || String.fromCodePoint(cp) !== s) bad();
    return { int: BigInt(cp!), float: cp! };
  }
  if (text.endsWith('i')) throw new ParseError(`complex numbers are not supported: ${text}`, pos);
  let t = text;
  if (t.includes('_')) {
    if (/__|_$|^[+-]?_|_\.|\._/.test(t)) bad();
    t = t.replace(/_/g, '');
  }
  let neg = false;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let int: bigint | null = null;
  let float: number | null = null;
  const lower = t.toLowerCase();
  if (/^0x[0-9a-f]+$/.test(lower) || /^0b[01]+$/.test(lower) || /^0o[0-7]+$/.test(lower)) {
    int = BigInt(lower);
  } else if (/^0[0-7]+$/.test(t)) {
    int = BigInt('0o' + t.slice(1));
  } else if (/^[0-9]+$/.test(t)) {
    if (/^0[0-9]+$/.test(t)) bad(); // 09 is not octal
    int = BigInt(t);
  } else if (lower.startsWith('0x')) {
    const m = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?p([+-]?\d+)$/.exec(lower);
    if (!m) bad();
    const intPart = m![1] ?? '';
    const frac = m![2] ?? '';
    const mant = parseInt(intPart + frac || '0', 16);
    float = mant * Math.pow(2, Number(m![3]) - 4 * frac.length);
  } else {
    if (!/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) bad();
    float = Number(t);
  }
  if (int !== null) {
    if (neg) int = -int;
    float = Number(int);
    if (int > 0x7fffffffffffffffn || int < -0x8000000000000000n) {
      // Go: the constant is only usable as a float or uint
      if (int > 0xffffffffffffffffn || int < -0x8000000000000000n) int = null;
    }
    return { int, float };
  }
  if (neg) float = -float!;
  if (!Number.isFinite(float)) bad();
  // a float constant that is integral can also be used where Go wants an int
  if (Number.isInteger(float) && !/[.eEpP]/.test(text.replace(/^[+-]?0[xX][0-9a-fA-F_]*$/, ''))) {
    int = BigInt(float!);
  }
  return { int, float };
}

// ---------------------------------------------------------------- parser

export interface ParserOptions {
  hasFunction: (name: string) => boolean;
}

class Parser {
  private i = 0;
  private vars: { name: string; slot: number }[] = [];
  private slotCount = 1;
  private rangeDepth = 0;
  readonly defines = new Map<string, ParsedTemplate>();

  constructor(
    private readonly toks: Token[],
    private readonly opts: ParserOptions,
  ) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    const t = this.toks[this.i]!;
    if (t.typ !== 'eof') this.i++;
    return t;
  }
  private backup(n = 1): void {
    this.i -= n;
  }
  private nextNonSpace(): Token {
    let t = this.next();
    while (t.typ === 'space') t = this.next();
    return t;
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }
  private fail(msg: string, at: number): never {
    throw new ParseError(msg, at);
  }
  private unexpected(tok: Token, context: string): never {
    if (tok.typ === 'eof') this.fail('unexpected EOF', tok.pos);
    const desc = tok.typ === 'right' ? '"}}"' : tok.typ === 'left' ? '"{{"' : JSON.stringify(tok.val);
    this.fail(`unexpected ${desc} in ${context}`, tok.pos);
  }

  parseMain(): ParsedTemplate {
    this.vars = [{ name: '$', slot: 0 }];
    this.slotCount = 1;
    const root: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.typ === 'eof') break;
      if (t.typ === 'left') {
        // {{define}} is only valid at top level
        const save = this.i;
        this.next();
        const k = this.nextNonSpace();
        if (k.typ === 'keyword' && k.val === 'define') {
          this.parseDefine(k);
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n.kind === 'node') root.push(n.node);
      else this.fail(`unexpected ${n.kind === 'end' ? '{{end}}' : '{{else}}'}`, n.pos);
    }
    return { root, slots: this.slotCount };
  }

  private parseDefine(kw: Token): void {
    const nameTok = this.nextNonSpace();
    if (nameTok.typ !== 'string' && nameTok.typ !== 'raw') this.unexpected(nameTok, 'define clause');
    const name = this.unquote(nameTok);
    this.expect('right', 'define clause');
    const saved = { vars: this.vars, slots: this.slotCount, range: this.rangeDepth };
    this.vars = [{ name: '$', slot: 0 }];
    this.slotCount = 1;
    this.rangeDepth = 0;
    const { list, end } = this.itemList('define');
    if (end.kind !== 'end') this.fail('unexpected {{else}} in define clause', end.pos);
    this.defineTemplate(name, { root: list, slots: this.slotCount }, kw.pos);
    this.vars = saved.vars;
    this.slotCount = saved.slots;
    this.rangeDepth = saved.range;
  }

  private defineTemplate(name: string, t: ParsedTemplate, pos: number): void {
    const prev = this.defines.get(name);
    // Go allows redefinition only when one of the two is empty
    if (prev && prev.root.length > 0 && t.root.length > 0 && !isBlank(prev.root)) {
      this.fail(`template: multiple definition of template ${JSON.stringify(name)}`, pos);
    }
    if (!prev || t.root.length > 0) this.defines.set(name, t);
  }

  private expect(typ: Tok, context: string): Token {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }

  private unquote(t: Token): string {
    if (t.typ === 'raw') return t.val.slice(1, -1);
    try {
      return unquoteGo(t.val, '"');
    } catch {
      return this.fail(`invalid syntax: ${t.val}`, t.pos);
    }
  }

  /** Parses nodes until {{end}} or {{else}}. */
  private itemList(context: string): {
    list: Node[];
    end: { kind: 'end' | 'else'; pos: number; tok?: Token };
  } {
    const list: Node[] = [];
    for (;;) {
      if (this.peek().typ === 'eof') this.fail(`unexpected EOF`, this.peek().pos);
      const n = this.textOrAction();
      if (n.kind === 'node') {
        list.push(n.node);
        continue;
      }
      void context;
      return { list, end: { kind: n.kind, pos: n.pos } };
    }
  }

  private textOrAction(): { kind: 'node'; node: Node } | { kind: 'end' | 'else'; pos: number } {
    const t = this.next();
    if (t.typ === 'text') return { kind: 'node', node: { t: 'text', text: t.val } };
    if (t.typ !== 'left') this.unexpected(t, 'input');
    const k = this.nextNonSpace();
    if (k.typ === 'keyword') {
      switch (k.val) {
        case 'end':
          this.expect('right', 'end');
          return { kind: 'end', pos: k.pos };
        case 'else':
          // leave "if"/"with" after else for the caller; consume plain else
          return { kind: 'else', pos: k.pos };
        case 'if':
        case 'with':
        case 'range':
          return { kind: 'node', node: this.control(k.val, k.pos) };
        case 'template':
          return { kind: 'node', node: this.templateCall(k.pos) };
        case 'block':
          return { kind: 'node', node: this.block(k.pos) };
        case 'define':
          this.fail('unexpected <define> in command', k.pos);
          break;
        case 'break':
        case 'continue': {
          if (this.rangeDepth === 0) this.fail(`{{${k.val}}} outside {{range}}`, k.pos);
          this.expect('right', k.val);
          return { kind: 'node', node: { t: k.val, pos: k.pos, end: k.pos + k.val.length } };
        }
      }
    }
    this.backup();
    const pipe = this.pipeline('command', 'right');
    return { kind: 'node', node: { t: 'action', pipe, pos: pipe.pos, end: pipe.end } };
  }

  private control(kind: 'if' | 'with' | 'range', pos: number): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'right');
    if (kind === 'range') this.rangeDepth++;
    const { list, end } = this.itemList(kind);
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (end.kind === 'else') {
      const nx = this.peekNonSpace();
      if ((kind === 'if' && nx.val === 'if') || (kind === 'with' && nx.val === 'with')) {
        // {{else if ...}}: a nested control sharing our {{end}}
        this.nextNonSpace();
        const inner = this.control(kind, nx.pos);
        elseList = [inner];
      } else {
        this.expect('right', 'else');
        const r = this.itemList(kind);
        if (r.end.kind === 'else') this.fail(`expected end; found {{else}}`, r.end.pos);
        elseList = r.list;
      }
    }
    this.vars.length = mark;
    const endPos = pipe.end;
    if (kind === 'range') return { t: 'range', pos, end: endPos, pipe, list, elseList };
    return { t: kind, pos, end: endPos, pipe, list, elseList };
  }

  private templateCall(pos: number): Node {
    const nameTok = this.nextNonSpace();
    if (nameTok.typ !== 'string' && nameTok.typ !== 'raw') this.unexpected(nameTok, 'template clause');
    const name = this.unquote(nameTok);
    let pipe: Pipe | null = null;
    if (this.nextNonSpace().typ !== 'right') {
      this.backup();
      pipe = this.pipeline('template clause', 'right');
    }
    return { t: 'template', pos, end: nameTok.pos + nameTok.val.length, name, pipe };
  }

  private block(pos: number): Node {
    const nameTok = this.nextNonSpace();
    if (nameTok.typ !== 'string' && nameTok.typ !== 'raw') this.unexpected(nameTok, 'block clause');
    const name = this.unquote(nameTok);
    const pipe = this.pipeline('block clause', 'right');
    const saved = { vars: this.vars, slots: this.slotCount, range: this.rangeDepth };
    this.vars = [{ name: '$', slot: 0 }];
    this.slotCount = 1;
    this.rangeDepth = 0;
    const { list, end } = this.itemList('block');
    if (end.kind !== 'end') this.fail('unexpected {{else}} in block clause', end.pos);
    this.defineTemplate(name, { root: list, slots: this.slotCount }, pos);
    this.vars = saved.vars;
    this.slotCount = saved.slots;
    this.rangeDepth = saved.range;
    return { t: 'template', pos, end: nameTok.pos + nameTok.val.length, name, pipe };
  }

  private declare(name: string): number {
    const slot = this.slotCount++;
    this.vars.push({ name, slot });
    return slot;
  }

  private lookupVar(name: string, pos: number): number {
    for (let k = this.vars.length - 1; k >= 0; k--) {
      const v = this.vars[k]!;
      if (v.name === name) return v.slot;
    }
    return this.fail(`undefined variable ${JSON.stringify(name)}`, pos);
  }

  private pipeline(context: string, end: 'right' | 'rparen'): Pipe {
    const start = this.peekNonSpace();
    const pipe: Pipe = { pos: start.pos, end: start.pos, decl: [], isAssign: false, cmds: [] };
    // declarations
    for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== 'var') break;
      const save = this.i;
      this.nextNonSpace();
      const nx = this.peekNonSpace();
      if (nx.typ === 'declare' || nx.typ === 'assign') {
        this.nextNonSpace();
        pipe.isAssign = nx.typ === 'assign';
        pipe.decl.push(pipe.isAssign ? this.lookupVar(v.val, v.pos) : this.declare(v.val));
        break;
      }
      if (nx.typ === 'comma') {
        this.nextNonSpace();
        pipe.decl.push(this.declare(v.val));
        if (context === 'range' && pipe.decl.length < 2) {
          const n2 = this.peekNonSpace();
          if (n2.typ === 'var') continue;
          this.fail('range can only initialize variables', n2.pos);
        }
        this.fail(`too many declarations in ${context}`, nx.pos);
      }
      this.i = save;
      break;
    }
    for (;;) {
      const tok = this.nextNonSpace();
      if (tok.typ === end) {
        if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, tok.pos);
        for (let k = 1; k < pipe.cmds.length; k++) {
          const a = pipe.cmds[k]!.args[0]!;
          if (a.t === 'bool' || a.t === 'dot' || a.t === 'nil' || a.t === 'number' || a.t === 'string') {
            this.fail(`non executable command in pipeline stage ${k + 1}`, a.pos);
          }
        }
        pipe.end = pipe.cmds[pipe.cmds.length - 1]!.end;
        return pipe;
      }
      switch (tok.typ) {
        case 'bool':
        case 'char':
        case 'dot':
        case 'field':
        case 'ident':
        case 'number':
        case 'nil':
        case 'raw':
        case 'string':
        case 'var':
        case 'lparen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          if (tok.typ === 'right' && end === 'rparen') this.fail('unclosed left paren', tok.pos);
          if (tok.typ === 'rparen' && end === 'right') this.fail('unexpected right paren', tok.pos);
          this.unexpected(tok, context);
      }
    }
  }

  private command(): Cmd {
    const first = this.peekNonSpace();
    const cmd: Cmd = { pos: first.pos, end: first.pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const tok = this.next();
      if (tok.typ === 'space') continue;
      if (tok.typ === 'right' || tok.typ === 'rparen') {
        this.backup();
      } else if (tok.typ !== 'pipe') {
        this.unexpected(tok, 'operand');
      }
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command', first.pos);
    cmd.end = cmd.args[cmd.args.length - 1]!.end;
    return cmd;
  }

  private operand(): Arg | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().typ !== 'field') return node;
    const idents: string[] = [];
    let end = node.end;
    while (this.peek().typ === 'field') {
      const f = this.next();
      idents.push(f.val.slice(1));
      end = f.pos + f.val.length;
    }
    switch (node.t) {
      case 'field':
        return { ...node, idents: [...node.idents, ...idents], end };
      case 'var':
        return { ...node, idents: [...node.idents, ...idents], end };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.fail(`unexpected . after term ${JSON.stringify(argText(node))}`, node.end);
        break;
      default:
        return { t: 'chain', node, idents, pos: node.pos, end };
    }
    return null;
  }

  private term(): Arg | null {
    const tok = this.nextNonSpace();
    const pos = tok.pos;
    const end = tok.pos + tok.val.length;
    switch (tok.typ) {
      case 'ident':
        if (!this.opts.hasFunction(tok.val)) this.fail(`function ${JSON.stringify(tok.val)} not defined`, pos);
        return { t: 'ident', name: tok.val, pos, end };
      case 'dot':
        return { t: 'dot', pos, end };
      case 'nil':
        return { t: 'nil', pos, end };
      case 'var':
        return { t: 'var', name: tok.val, slot: this.lookupVar(tok.val, pos), idents: [], pos, end };
      case 'field':
        return { t: 'field', idents: [tok.val.slice(1)], pos, end };
      case 'bool':
        return { t: 'bool', value: tok.val === 'true', pos, end };
      case 'char':
      case 'number': {
        const n = parseNumber(tok.val, pos);
        return { t: 'number', int: n.int, float: n.float, text: tok.val, pos, end };
      }
      case 'lparen': {
        const pipe = this.pipeline('parenthesized pipeline', 'rparen');
        const close = this.toks[this.i - 1]!; // pipeline consumed the ')'
        return { t: 'pipe', pipe, pos, end: close.pos + 1 };
      }
      case 'string':
      case 'raw':
        return { t: 'string', value: this.unquote(tok), pos, end };
    }
    this.backup();
    return null;
  }
}

function isBlank(nodes: Node[]): boolean {
  return nodes.every((n) => n.t === 'text' && n.text.trim() === '');
}

export function parseTemplate(src: string, opts: ParserOptions): ParseResult {
  const toks = lex(src);
  const p = new Parser(toks, opts);
  const main = p.parseMain();
  return { main, defines: p.defines };
}

/** The source text of an argument, for error messages (Go prints the node). */
export function argText(a: Arg): string {
  switch (a.t) {
    case 'string':
      return JSON.stringify(a.value);
    case 'number':
      return a.text;
    case 'bool':
      return String(a.value);
    case 'nil':
      return 'nil';
    case 'dot':
      return '.';
    case 'var':
      return [a.name, ...a.idents].join('.');
    case 'field':
      return '.' + a.idents.join('.');
    case 'ident':
      return a.name;
    default:
      return '(...)';
  }
}
