/**
 * Loading pipeline files: read every file, parse every document, validate
 * every pipeline, and hand back the valid ones with every problem found.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { decodeDocument } from './decode.js';
import { enrichPipeline } from './enrich.js';
import { checkProcessorConfigs } from './processor-check.js';
import type { EnvLookup } from './env.js';
import type { Field, RawPipeline } from './raw.js';
import type { PipelineConfig } from './types.js';
import { validatePipeline } from './validate.js';
import { NodeReader } from './yaml-reader.js';

/** Options for parsing pipeline files. */
export interface ParseOptions {
  /** The plugins pipelines may use. */
  readonly registry: PluginRegistry;
  /** Variables for `${VAR}` interpolation; defaults to `process.env`. */
  readonly env?: EnvLookup;
}

/** Options for {@link loadPipelines}. */
export interface LoadOptions extends ParseOptions {
  /** The default pipelines path: when it is missing there are simply no pipelines. Defaults to `./pipelines`. */
  readonly defaultPath?: string;
  /**
   * Also configure every processor of each valid pipeline (never open it) and
   * compile its condition, reporting settings that cannot work
   * (processor-check.ts). A pipeline with such a problem is not returned.
   */
  readonly configureProcessors?: boolean;
}

/** The valid pipelines and every problem found, in file, document and position order. */
export interface LoadResult {
  readonly pipelines: PipelineConfig[];
  readonly errors: ConduitError[];
  readonly warnings: ConduitError[];
}

/** The default `--pipelines.path`. */
export const DEFAULT_PIPELINES_PATH = './pipelines';

/** One pipeline found in a file; `config` is undefined when it is invalid. */
interface Candidate {
  readonly id: Field<string> | undefined;
  config: PipelineConfig | undefined;
  readonly file: FileResult;
  readonly raw: RawPipeline;
}

interface FileResult {
  readonly file: string;
  readonly candidates: Candidate[];
  readonly errors: ConduitError[];
  readonly warnings: ConduitError[];
}

/**
 * Parses, validates and enriches the pipelines in one file's text. Pure: no
 * file access. Duplicate pipeline IDs within the text are reported.
 *
 * @example
 * const { pipelines, errors } = parsePipelineText(yamlText, 'pipelines/orders.yaml', { registry });
 */
export function parsePipelineText(text: string, file: string, opts: ParseOptions): LoadResult {
  return combine([parseFile(text, file, opts)]);
}

/**
 * Loads the pipelines at `path`: one file, or every top-level `.yml`/`.yaml`
 * file of a folder (symlinks followed, no recursion, sorted by name). Only
 * valid pipelines are returned; a pipeline whose ID appears more than once
 * across all files is skipped everywhere.
 */
export async function loadPipelines(path: string, opts: LoadOptions): Promise<LoadResult> {
  const files = await listFiles(path, opts.defaultPath ?? DEFAULT_PIPELINES_PATH);
  if ('error' in files) return { pipelines: [], errors: files.error, warnings: [] };
  const results: FileResult[] = [];
  for (const file of files.files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const e = problemWithoutPlace(Code.ConfigParseError, `cannot read pipeline file: ${reason}`, file);
      results.push({ file, candidates: [], errors: [e], warnings: [] });
      continue;
    }
    const result = parseFile(text, file, opts);
    if (opts.configureProcessors === true) await configureProcessors(result, opts.registry);
    results.push(result);
  }
  return combine(results);
}

async function listFiles(path: string, defaultPath: string): Promise<{ files: string[] } | { error: ConduitError[] }> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && resolve(path) === resolve(defaultPath))
      return { files: [] };
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    return {
      error: [
        new ConduitError(Code.ConfigPathNotFound, `pipelines path "${path}" ${reason}`, {
          file: path,
          suggestion: 'point --pipelines.path at a pipeline file or a folder of them',
        }),
      ],
    };
  }
  if (!info.isDirectory()) return { files: [path] };
  const names = (await readdir(path)).filter((n) => n.endsWith('.yml') || n.endsWith('.yaml')).sort(byCodePoint);
  const files: string[] = [];
  for (const name of names) {
    const file = join(path, name);
    const s = await stat(file).catch(() => undefined); // follows symlinks; a dangling one is skipped
    if (s?.isFile() === true) files.push(file);
  }
  return { files };
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function parseFile(text: string, file: string, opts: ParseOptions): FileResult {
  const result: FileResult = { file, candidates: [], errors: [], warnings: [] };
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  for (const doc of docs) parseDocument(doc, lineCounter, result, opts);
  return result;
}

function parseDocument(doc: Document, lc: LineCounter, out: FileResult, opts: ParseOptions): void {
  const r = new NodeReader(out.file, lc, doc, opts.env ?? process.env, out.warnings);
  for (const w of doc.warnings) out.warnings.push(yamlProblem(r, lc, w));
  if (doc.errors.length > 0) {
    for (const e of doc.errors) out.errors.push(yamlProblem(r, lc, e));
    return;
  }
  if (r.isEmpty(doc.contents)) return; // an empty document, e.g. after a trailing "---"
  const decoded = decodeDocument(r, doc.contents, r.pos(doc.contents));
  out.errors.push(...decoded.errors);
  for (const p of decoded.document?.pipelines ?? []) out.candidates.push(check(p, r, out, opts.registry));
}

function check(p: RawPipeline, r: NodeReader, out: FileResult, registry: PluginRegistry): Candidate {
  const errors = validatePipeline(p, r, registry);
  out.errors.push(...errors);
  return { id: p.id, config: errors.length === 0 ? enrichPipeline(p, out.file) : undefined, file: out, raw: p };
}

async function configureProcessors(result: FileResult, registry: PluginRegistry): Promise<void> {
  for (const c of result.candidates) {
    if (c.config === undefined) continue;
    const errors = await checkProcessorConfigs(c.raw, c.config, result.file, registry);
    if (errors.length === 0) continue;
    result.errors.push(...errors);
    c.config = undefined;
  }
}

/** A YAML syntax problem. The message never quotes the source, which may hold secrets. */
function yamlProblem(r: NodeReader, lc: LineCounter, e: { message: string; pos: [number, number] }): ConduitError {
  const lp = lc.linePos(e.pos[0]);
  const message = e.message.split('\n')[0] ?? e.message;
  return r.problem(
    Code.ConfigParseError,
    `invalid YAML: ${message}`,
    '',
    { line: lp.line, column: lp.col },
    'fix the YAML syntax at this place',
  );
}

/** Skips and reports every pipeline whose ID is used more than once, then orders the problems. */
function combine(files: readonly FileResult[]): LoadResult {
  reportDuplicates(files.flatMap((f) => f.candidates));
  const pipelines: PipelineConfig[] = [];
  for (const f of files) for (const c of f.candidates) if (c.config !== undefined) pipelines.push(c.config);
  return {
    pipelines,
    errors: files.flatMap((f) => byPosition(f.errors)),
    warnings: files.flatMap((f) => byPosition(f.warnings)),
  };
}

function reportDuplicates(candidates: readonly Candidate[]): void {
  const byId = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const id = c.id?.value;
    if (id === undefined || id === '') continue;
    byId.set(id, [...(byId.get(id) ?? []), c]);
  }
  for (const [id, group] of byId) {
    if (group.length < 2) continue;
    for (const c of group) {
      c.config = undefined;
      const others = group.filter((o) => o !== c).map((o) => `${o.file.file}:${o.id?.pos.line ?? 0}`);
      const place = c.id;
      if (place === undefined) continue;
      c.file.errors.push(
        new ConduitError(
          Code.ConfigIdDuplicate,
          `pipeline ID "${id}" is used by ${group.length} pipelines; all of them are skipped`,
          {
            configPath: place.path,
            file: c.file.file,
            ...place.pos,
            suggestion: `give each pipeline its own ID; "${id}" is also used at ${others.join(', ')}`,
          },
        ),
      );
    }
  }
}

/** Stable sort by line and column; problems without a place come first. */
function byPosition(list: readonly ConduitError[]): ConduitError[] {
  return list
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.line ?? 0) - (b.e.line ?? 0) || (a.e.column ?? 0) - (b.e.column ?? 0) || a.i - b.i)
    .map((x) => x.e);
}

function problemWithoutPlace(code: string, message: string, file: string): ConduitError {
  return new ConduitError(code, message, { file });
}
