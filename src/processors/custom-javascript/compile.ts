/**
 * Turns what the operator wrote into JavaScript the sandbox can run.
 *
 * A Conduit script (`function process(record) {…}`) runs as written. A
 * script with module syntax (`export function process`, `import … from`) or
 * written in TypeScript goes through esbuild first: types are stripped and
 * the module becomes CommonJS, so `import` turns into `require`, which the
 * sandbox refuses unless the operator allowed the module. Dynamic `import()`
 * is rewritten the same way (an `import()` the sandbox did not see would
 * reach Node's loader). The result runs in a function scope, as a module does.
 */

export type Language = 'javascript' | 'typescript';

export interface PreparedScript {
  readonly code: string;
  readonly filename: string;
}

/** A script esbuild refused, with the place in the source. */
export class TransformError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
    this.name = 'TransformError';
  }
}

/** Words that mean module syntax (or a dynamic import), so the script needs esbuild. */
const MODULE_SYNTAX = /\b(import|export)\b/;

/** The language a file name implies, or undefined. */
export function languageOf(path: string): Language | undefined {
  if (/\.(ts|mts|cts)$/i.test(path)) return 'typescript';
  if (/\.(js|mjs|cjs)$/i.test(path)) return 'javascript';
  return undefined;
}

export function needsTransform(source: string, language: Language): boolean {
  return language === 'typescript' || MODULE_SYNTAX.test(source);
}

/**
 * @throws TransformError when esbuild cannot parse the script.
 */
export async function prepareScript(source: string, language: Language, filename: string): Promise<PreparedScript> {
  if (!needsTransform(source, language)) return { code: source, filename };
  // Loaded only for scripts that need it: a Conduit script never starts esbuild.
  const esbuild = await import('esbuild');
  try {
    const out = await esbuild.transform(source, {
      loader: language === 'typescript' ? 'ts' : 'js',
      format: 'cjs',
      target: 'es2022',
      supported: { 'dynamic-import': false },
      sourcefile: filename,
      logLevel: 'silent',
    });
    // Module scope: the module's own declarations (its `process` function, say) do not become globals,
    // so an allowed `process` global stays Node's. The trailer hands local entry points to the bridge.
    return {
      code:
        `(function (exports, require, module) {${out.code}\n` +
        `module.conduitLocal = { process: typeof process === 'function' ? process : undefined, ` +
        `processBatch: typeof processBatch === 'function' ? processBatch : undefined };\n` +
        `})(exports, require, module);`,
      filename,
    };
  } catch (e) {
    const first = (e as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> })
      .errors?.[0];
    if (first === undefined) throw e;
    const loc = first.location ?? undefined;
    throw new TransformError(first.text, loc?.line, loc === undefined ? undefined : loc.column + 1);
  }
}
