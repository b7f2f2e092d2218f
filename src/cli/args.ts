/**
 * Command-line parsing: positionals, `--key=value`, `--key value`, boolean
 * flags. Dotted keys are engine settings (`--db.type sqlite`).
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { closest } from '../sdk/params.js';

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Record<string, string>;
}

/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set([
  'json',
  'quiet',
  'no-color',
  'help',
  'yes',
  'force',
  'dev',
  'strict',
  'version',
  'deep',
  'require-server',
  'out',
]);
const SHORT: Record<string, string> = { q: 'quiet', h: 'help', y: 'yes', v: 'version' };
const ALIASES: Record<string, string> = { pipelines: 'pipelines.path', config: 'config.path' };

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2 && a !== '-')) {
      let key: string;
      let value: string | undefined;
      if (a.startsWith('--')) {
        const eq = a.indexOf('=');
        key = eq < 0 ? a.slice(2) : a.slice(2, eq);
        value = eq < 0 ? undefined : a.slice(eq + 1);
      } else {
        key = SHORT[a.slice(1)] ?? a.slice(1);
      }
      key = ALIASES[key] ?? key;
      if (value === undefined) {
        if (BOOLEAN_FLAGS.has(key)) value = 'true';
        else {
          const next = argv[i + 1];
          if (next === undefined || next.startsWith('--')) {
            // Most likely a misspelt switch (--jsn): say so rather than ask for a value.
            const near = closest(key, [...BOOLEAN_FLAGS]);
            if (near !== undefined) {
              throw new ConduitError(Code.EngineConfigInvalid, `unknown flag --${key}`, {
                suggestion: `did you mean --${near}?`,
              });
            }
            throw new ConduitError(Code.EngineConfigInvalid, `flag --${key} needs a value`, {
              suggestion: `write --${key}=VALUE`,
            });
          }
          value = next;
          i++;
        }
      }
      flags[key] = value;
      continue;
    }
    positionals.push(a);
  }
  return { positionals, flags };
}

/** Rejects flags a command does not know, suggesting the nearest one. */
export function checkFlags(flags: Record<string, string>, known: readonly string[]): void {
  for (const k of Object.keys(flags)) {
    if (known.includes(k)) continue;
    const near = closest(k, known);
    throw new ConduitError(Code.EngineConfigInvalid, `unknown flag --${k}`, {
      suggestion: near === undefined ? 'see --help for the flags' : `did you mean --${near}?`,
    });
  }
}
