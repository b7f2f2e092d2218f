/**
 * Pipeline files: parse (versions 1.0 to 2.2, several documents per file,
 * `${VAR}` interpolation), validate (every problem, each with a code, a JSON
 * pointer, a file, a line and a column), and enrich into the
 * {@link PipelineConfig} the engine runs. Also the JSON Schema for editors.
 */
export { loadPipelines, parsePipelineText, DEFAULT_PIPELINES_PATH } from './load.js';
export type { LoadOptions, LoadResult, ParseOptions } from './load.js';
export { pipelineFileJsonSchema, pluginRefPattern } from './json-schema.js';
export { chooseVersion, VERSIONS, LATEST_VERSION } from './decode.js';
export type { Version } from './decode.js';
export { expandEnv } from './env.js';
export type { EnvLookup, ExpandResult } from './env.js';
export { ID_PATTERN, LIMITS } from './validate.js';
export * from './types.js';
