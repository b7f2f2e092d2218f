/**
 * `custom.javascript`: runs the operator's JavaScript (or TypeScript) on each
 * record, with Conduit's contract: `function process(record)` returns the
 * record, a new `Record()`, or `null` to filter it out. Scripts run in a
 * sandbox (sandbox.ts) with a time budget; the script is compiled and loaded
 * at configure time, so a script that cannot work stops the pipeline before
 * it starts.
 */
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { basename } from 'node:path';
import { Code } from '../../errors/codes.js';
import { ConduitError } from '../../errors/conduit-error.js';
import type { Config } from '../../sdk/params.js';
import { RecordError, type ProcessedRecord, type ProcessorContext, type ProcessorPlugin } from '../../sdk/processor.js';
import { configError } from '../util.js';
import { languageOf, prepareScript, TransformError, type Language } from './compile.js';
import { Sandbox, ScriptError, ScriptRecordError } from './sandbox.js';

const PLUGIN = 'custom.javascript';

/** What `sandbox.allow` accepts besides Node's built-in module names. */
const GLOBALS = ['fetch'];

export const customJavascriptPlugin: ProcessorPlugin = {
  name: PLUGIN,
  summary: 'Run custom JavaScript code.',
  description:
    'A processor that makes it possible to process Conduit records using JavaScript (or TypeScript). ' +
    'The script defines `function process(record)`, which returns the record (changed or not), a new `Record()`, ' +
    '`null` to filter the record out, or an array of records to split it; or `function processBatch(records)`, ' +
    'which returns one such result per record. Helpers: `logger` (a zerolog-like logger: ' +
    '`logger.Info().Str("k", "v").Msg("text")`), `console`, `Record()`, `RawData(text)` (the UTF-8 bytes of the text), ' +
    '`StructuredData()`, `TextEncoder` and `TextDecoder`. ' +
    'The script runs in a sandbox: it cannot reach the file system, the network or the process unless ' +
    '`sandbox.allow` lets it, and a call that runs past `script.timeout` is stopped and fails that record.',
  version: 'v0.1.0',
  author: 'Conduit for TypeScript',
  params: {
    script: {
      type: 'string',
      description:
        'JavaScript code for this processor. It needs to have a function `process()` that accepts a record and ' +
        'returns a record. The `process()` function can either modify the input record and return it, or create a ' +
        'new record. If a record needs to be filtered (dropped from the pipeline), then the `process()` function ' +
        'should return `null`. Module syntax (`export function process`) and TypeScript are accepted too. ' +
        'Exactly one of `script` and `script.path` must be set.',
    },
    'script.path': {
      type: 'string',
      description:
        'The path to a .js file containing the processor code (`.ts`, `.mts` and `.cts` files are TypeScript), ' +
        'relative to the directory Conduit runs in. Exactly one of `script` and `script.path` must be set.',
    },
    'script.language': {
      type: 'string',
      inclusion: ['javascript', 'typescript'],
      description:
        'The language of the script: `javascript` or `typescript` (types are stripped; nothing is type-checked). ' +
        'When empty, a `script.path` ending in .ts, .mts or .cts is TypeScript and everything else JavaScript.',
    },
    'script.timeout': {
      type: 'duration',
      default: '1s',
      greaterThan: 0,
      description:
        'The most one call of the script may run: `process` for one record, `processBatch` for one batch, and the ' +
        "script's top level when it loads. A call that runs longer is stopped and fails its records (nacked); " +
        'the pipeline goes on.',
    },
    'sandbox.allow': {
      type: 'string',
      list: true,
      description:
        'What the script may reach beyond the language itself: names of Node.js built-in modules it may ' +
        '`require` or `import` (e.g. `crypto`, `node:fs`), `process` (the `process` global and module) and `fetch` ' +
        '(the `fetch` global). Empty by default: no file system, network or process. An allowed module hands the ' +
        'script host objects, so allow modules only for scripts you trust as much as the engine itself.',
    },
  },
  create: () => {
    let sandbox: Sandbox | undefined;
    let ctx: ProcessorContext | undefined;
    return {
      async configure(config, c) {
        ctx = c;
        sandbox = await loadSandbox(config, c);
      },
      process(records) {
        if (sandbox === undefined || ctx === undefined) throw new Error('the processor is not configured');
        const id = ctx.processorId;
        return sandbox.run(records).map((r): ProcessedRecord => (r instanceof ScriptRecordError ? failed(id, r) : r));
      },
      teardown() {
        sandbox = undefined;
        return Promise.resolve();
      },
    };
  },
};

function failed(processorId: string, e: ScriptRecordError): RecordError {
  return new RecordError(
    new ConduitError(Code.ProcessorFailed, `processor ${processorId} (${PLUGIN}) failed: ${e.message}`, { cause: e }),
  );
}

async function loadSandbox(config: Config, ctx: ProcessorContext): Promise<Sandbox> {
  const inline = config.string('script');
  const path = config.string('script.path');
  if (inline !== '' && path !== '') {
    throw configError(
      ctx,
      'script',
      'only one of script and script.path may be set',
      'keep the code in script, or in a file named by script.path, not both',
    );
  }
  if (inline === '' && path === '') {
    throw new ConduitError(
      Code.ParamRequired,
      `processor ${ctx.processorId}: one of script and script.path is required`,
      {
        configPath: 'script',
        suggestion: 'set script to the code, e.g. function process(record) { return record; }',
      },
    );
  }
  const key = inline !== '' ? 'script' : 'script.path';
  let source = inline;
  if (path !== '') {
    try {
      source = await readFile(path, 'utf8');
    } catch (e) {
      throw configError(
        ctx,
        'script.path',
        `cannot read ${path}: ${(e as Error).message}`,
        'give a path to a readable file, relative to the directory Conduit runs in',
        e,
      );
    }
  }
  const language = (config.string('script.language') || languageOf(path) || 'javascript') as Language;
  const allow = config.list('sandbox.allow');
  for (const a of allow) {
    const bare = a.replace(/^node:/, '');
    if (!GLOBALS.includes(bare) && !builtinModules.includes(bare)) {
      throw configError(
        ctx,
        'sandbox.allow',
        `${JSON.stringify(a)} is neither a Node.js built-in module nor one of ${GLOBALS.join(', ')}`,
        'name built-in modules such as crypto or node:fs, or fetch',
      );
    }
  }
  const filename = path !== '' ? basename(path) : language === 'typescript' ? 'script.ts' : 'script.js';
  const place = (line?: number, column?: number) => ({
    configPath: key,
    ...(path !== '' ? { file: path } : {}),
    ...(line !== undefined ? { line } : {}),
    ...(column !== undefined ? { column } : {}),
  });
  try {
    const prepared = await prepareScript(source, language, filename);
    return Sandbox.create({
      code: prepared.code,
      filename: prepared.filename,
      timeoutMs: config.duration('script.timeout'),
      logger: ctx.logger,
      allow,
    });
  } catch (e) {
    if (!(e instanceof ScriptError) && !(e instanceof TransformError)) throw e;
    throw new ConduitError(Code.ParamValidation, `processor ${ctx.processorId}: ${key}: ${e.message}`, {
      ...place(e.line, e.column),
      suggestion:
        e instanceof ScriptError && e.message.includes('no entry point')
          ? 'define function process(record) { …; return record; }'
          : 'fix the script; `node --check` on a copy of it shows the same problem',
      cause: e,
    });
  }
}
