/**
 * Environment interpolation with the semantics of Go's `os.ExpandEnv`, which
 * Conduit applies to every string scalar of a pipeline file: `${VAR}` and
 * `$VAR` are replaced, an unset variable becomes the empty string, `$` not
 * followed by a name stays as it is, and bad syntax (`${`, `${}`) is dropped.
 */

/** Looks up variables; `undefined` means unset. */
export type EnvLookup = Readonly<Record<string, string | undefined>>;

export interface ExpandResult {
  readonly value: string;
  /** Names of the variables that were referenced but unset, in order of appearance. */
  readonly unset: readonly string[];
}

const SPECIAL = new Set(['*', '#', '$', '@', '!', '?', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

function isAlphaNum(c: string): boolean {
  return /^[A-Za-z0-9_]$/.test(c);
}

/** The variable name after a `$` and how many characters it spans (Go's getShellName). */
function shellName(s: string): { name: string; width: number } {
  const first = s.charAt(0);
  if (first === '{') {
    if (s.length > 2 && SPECIAL.has(s.charAt(1)) && s.charAt(2) === '}') return { name: s.charAt(1), width: 3 };
    const close = s.indexOf('}', 1);
    if (close === 1) return { name: '', width: 2 }; // "${}": bad syntax, eaten
    if (close < 0) return { name: '', width: 1 }; // "${" without "}": bad syntax, eaten
    return { name: s.slice(1, close), width: close + 1 };
  }
  if (SPECIAL.has(first)) return { name: first, width: 1 };
  let i = 0;
  while (i < s.length && isAlphaNum(s.charAt(i))) i++;
  return { name: s.slice(0, i), width: i };
}

/**
 * Expands `${VAR}` and `$VAR` in `s` from `env`.
 *
 * @example expandEnv('host=${HOST}:$PORT', { HOST: 'db' }) // { value: 'host=db:', unset: ['PORT'] }
 */
export function expandEnv(s: string, env: EnvLookup): ExpandResult {
  if (!s.includes('$')) return { value: s, unset: [] };
  const unset: string[] = [];
  let out = '';
  let i = 0;
  for (let j = 0; j < s.length; j++) {
    if (s.charAt(j) !== '$' || j + 1 >= s.length) continue;
    out += s.slice(i, j);
    const { name, width } = shellName(s.slice(j + 1));
    if (name === '' && width === 0) {
      out += '$'; // a lone "$": kept
    } else if (name !== '') {
      const v = env[name];
      if (v === undefined) unset.push(name);
      out += v ?? '';
    }
    j += width;
    i = j + 1;
  }
  out += s.slice(i);
  return { value: out, unset };
}
