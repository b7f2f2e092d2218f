/**
 * Decodes one YAML document into the raw model, by version: 1.0 and 1.1 use
 * maps keyed by ID; 2.0, 2.1 and 2.2 use lists with an `id` field.
 */
import { Code } from '../errors/codes.js';
import type { ConduitError } from '../errors/conduit-error.js';
import type { Field, Pos, RawConnector, RawDLQ, RawDocument, RawPipeline, RawProcessor } from './raw.js';
import type { Entry, Item, NodeReader, Sink } from './yaml-reader.js';

/** The versions Conduit reads. */
export const VERSIONS = ['1.0', '1.1', '2.0', '2.1', '2.2'] as const;
export type Version = (typeof VERSIONS)[number];
export const LATEST_VERSION: Version = '2.2';

const TOP_FIELDS = ['version', 'pipelines'];
const PIPELINE_FIELDS_V1 = ['status', 'name', 'description', 'connectors', 'processors', 'dead-letter-queue'];
const PIPELINE_FIELDS_V2 = ['id', ...PIPELINE_FIELDS_V1];
const CONNECTOR_FIELDS_V1 = ['type', 'plugin', 'name', 'settings', 'processors'];
const CONNECTOR_FIELDS_V2 = ['id', ...CONNECTOR_FIELDS_V1];
const PROCESSOR_FIELDS_V1 = ['type', 'settings'];
const PROCESSOR_FIELDS_V2 = ['id', 'plugin', 'type', 'condition', 'settings', 'workers'];
const DLQ_FIELDS = ['plugin', 'settings', 'window-size', 'window-nack-threshold'];

export type VersionChoice =
  | { readonly version: Version; readonly warning?: { code: string; message: string; suggestion: string } }
  | { readonly error: { message: string; suggestion: string } };

/**
 * The version a document is read as. Missing means 2.2, an unknown 2.x means
 * 2.2 and an unknown 1.x means 1.1 (each with a warning); any other major
 * version is an error.
 */
export function chooseVersion(written: string | undefined): VersionChoice {
  const v = written?.trim() ?? '';
  if (v === '') {
    return {
      version: LATEST_VERSION,
      warning: {
        code: Code.ConfigFieldRequired,
        message: `"version" is missing; the document is read as version ${LATEST_VERSION}`,
        suggestion: `add "version: ${LATEST_VERSION}" at the top of the document`,
      },
    };
  }
  if ((VERSIONS as readonly string[]).includes(v)) return { version: v as Version };
  const major = v.split('.')[0];
  const fallback: Version | undefined = major === '1' ? '1.1' : major === '2' ? '2.2' : undefined;
  if (fallback === undefined) {
    return {
      error: {
        message: `version "${v}" is not supported`,
        suggestion: `use one of: ${VERSIONS.join(', ')}`,
      },
    };
  }
  return {
    version: fallback,
    warning: {
      code: Code.ConfigVersionUnsupported,
      message: `version "${v}" is unknown; the document is read as version ${fallback}`,
      suggestion: `use one of: ${VERSIONS.join(', ')}`,
    },
  };
}

function newSink(): Sink {
  return { errors: [], unsetVars: [] };
}

/** The outcome of decoding one document. */
export interface DecodedDocument {
  /** Undefined when the document as a whole is unusable. */
  readonly document: RawDocument | undefined;
  /** Problems that make the whole document unusable. */
  readonly errors: ConduitError[];
}

/** Decodes a document's contents (a parsed YAML node). */
export function decodeDocument(r: NodeReader, contents: unknown, start: Pos): DecodedDocument {
  const sink = newSink();
  const doc = decodeTop(r, contents, start, sink);
  // a ${VAR} at the top level (in "version") is never a secret
  for (const u of sink.unsetVars) warnUnset(r, u.name, u.path, u.pos, undefined);
  return { document: sink.errors.length === 0 ? doc : undefined, errors: sink.errors };
}

function decodeTop(r: NodeReader, contents: unknown, start: Pos, sink: Sink): RawDocument | undefined {
  const top = r.fields(contents, '', start, TOP_FIELDS, sink, 'a pipeline file');
  if (top === undefined) return undefined;
  const versionEntry = top.get('version');
  const written = r.string(versionEntry, sink)?.value;
  const choice = chooseVersion(written);
  const at = versionEntry?.pos ?? start;
  if ('error' in choice) {
    sink.errors.push(
      r.problem(Code.ConfigVersionUnsupported, choice.error.message, '/version', at, choice.error.suggestion),
    );
    return undefined;
  }
  if (choice.warning !== undefined) {
    r.warn(choice.warning.code, choice.warning.message, '/version', at, choice.warning.suggestion);
  }
  const version = choice.version;
  const entry = top.get('pipelines');
  const pipelines = entry === undefined ? [] : decodePipelines(r, entry, version, sink);
  return pipelines === undefined ? undefined : { version, pipelines };
}

function decodePipelines(r: NodeReader, entry: Entry, version: Version, sink: Sink): RawPipeline[] | undefined {
  if (version.startsWith('1.')) {
    const entries = r.entries(entry.node, entry.path, entry.pos, sink, '"pipelines"', true);
    return entries?.map((e) => decodePipeline(r, idFromKey(e), e, version));
  }
  const items = r.items(entry, sink, '"pipelines"');
  return items?.map((it) => decodePipeline(r, undefined, it, version));
}

/** In v1 the ID is the map key. */
function idFromKey(e: Entry): Field<string> {
  return { value: e.key, path: e.path, keyPos: e.keyPos, pos: e.keyPos };
}

/** Where a v1 map entry starts: at its key. */
function at(e: Entry | Item): Pos {
  return 'keyPos' in e ? e.keyPos : e.pos;
}

function isV1(version: Version): boolean {
  return version.startsWith('1.');
}

function decodePipeline(r: NodeReader, id: Field<string> | undefined, e: Entry | Item, version: Version): RawPipeline {
  const sink = newSink();
  const known = isV1(version) ? PIPELINE_FIELDS_V1 : PIPELINE_FIELDS_V2;
  const fields = r.fields(e.node, e.path, at(e), known, sink, 'a pipeline');
  const f = fields ?? new Map<string, Entry>();
  const connectorsEntry = f.get('connectors');
  const dlqEntry = f.get('dead-letter-queue');
  if (dlqEntry !== undefined && version === '1.0') warnIntroduced(r, dlqEntry, '1.1');
  return {
    path: e.path,
    pos: at(e),
    broken: fields === undefined,
    id: id ?? r.string(f.get('id'), sink),
    status: r.string(f.get('status'), sink),
    name: r.string(f.get('name'), sink),
    description: r.string(f.get('description'), sink),
    connectors: list(r, connectorsEntry, version, sink, '"connectors"', decodeConnector),
    connectorsKey: connectorsEntry?.keyPos,
    processors: list(r, f.get('processors'), version, sink, '"processors"', decodeProcessor),
    dlq: dlqEntry === undefined ? undefined : decodeDLQ(r, dlqEntry, sink),
    errors: sink.errors,
    unsetVars: sink.unsetVars,
  };
}

type Decoder<T> = (r: NodeReader, id: Field<string> | undefined, e: Entry | Item, version: Version, sink: Sink) => T;

/** A v1 map keyed by ID or a v2 list. */
function list<T>(
  r: NodeReader,
  entry: Entry | undefined,
  version: Version,
  sink: Sink,
  what: string,
  decode: Decoder<T>,
): T[] {
  if (entry === undefined) return [];
  if (isV1(version)) {
    const entries = r.entries(entry.node, entry.path, entry.pos, sink, what, true) ?? [];
    return entries.map((e) => decode(r, idFromKey(e), e, version, sink));
  }
  return (r.items(entry, sink, what) ?? []).map((it) => decode(r, undefined, it, version, sink));
}

function decodeConnector(
  r: NodeReader,
  id: Field<string> | undefined,
  e: Entry | Item,
  version: Version,
  sink: Sink,
): RawConnector {
  const known = isV1(version) ? CONNECTOR_FIELDS_V1 : CONNECTOR_FIELDS_V2;
  const fields = r.fields(e.node, e.path, at(e), known, sink, 'a connector');
  const f = fields ?? new Map<string, Entry>();
  return {
    path: e.path,
    pos: at(e),
    broken: fields === undefined,
    id: id ?? r.string(f.get('id'), sink),
    type: r.string(f.get('type'), sink),
    plugin: r.string(f.get('plugin'), sink),
    name: r.string(f.get('name'), sink),
    settings: r.settings(f.get('settings'), sink),
    processors: list(r, f.get('processors'), version, sink, '"processors"', decodeProcessor),
  };
}

function decodeProcessor(
  r: NodeReader,
  id: Field<string> | undefined,
  e: Entry | Item,
  version: Version,
  sink: Sink,
): RawProcessor {
  const known = isV1(version) ? PROCESSOR_FIELDS_V1 : PROCESSOR_FIELDS_V2;
  const fields = r.fields(e.node, e.path, at(e), known, sink, 'a processor');
  const f = fields ?? new Map<string, Entry>();
  const condition = f.get('condition');
  if (condition !== undefined && version === '2.0') warnIntroduced(r, condition, '2.1');
  return {
    path: e.path,
    pos: at(e),
    broken: fields === undefined,
    id: id ?? r.string(f.get('id'), sink),
    plugin: processorPlugin(r, f, version, sink),
    condition: r.string(condition, sink),
    settings: r.settings(f.get('settings'), sink),
    workers: r.string(f.get('workers'), sink),
  };
}

/**
 * The processor's plugin: `type` in v1, 2.0 and 2.1; `plugin` from 2.2, where
 * a `type` is still taken when `plugin` is empty (with a rename warning).
 */
function processorPlugin(
  r: NodeReader,
  f: Map<string, Entry>,
  version: Version,
  sink: Sink,
): Field<string> | undefined {
  const type = r.string(f.get('type'), sink);
  const pluginEntry = f.get('plugin');
  const plugin = r.string(pluginEntry, sink);
  if (pluginEntry !== undefined && version !== '2.2') warnIntroduced(r, pluginEntry, '2.2');
  const usePlugin = plugin !== undefined && plugin.value !== '';
  if (type !== undefined && version === '2.2') {
    r.warn(
      Code.ConfigFieldRenamed,
      usePlugin
        ? `processor field "type" is deprecated and ignored because "plugin" is set`
        : `processor field "type" is deprecated; it was renamed to "plugin"`,
      type.path,
      type.keyPos,
      usePlugin ? `remove "type"` : `rename "type" to "plugin"`,
    );
  }
  if (usePlugin || type === undefined) return plugin;
  return type;
}

function decodeDLQ(r: NodeReader, e: Entry, sink: Sink): RawDLQ {
  const f = r.fields(e.node, e.path, e.pos, DLQ_FIELDS, sink, 'a dead-letter-queue') ?? new Map<string, Entry>();
  return {
    path: e.path,
    pos: e.keyPos,
    plugin: r.string(f.get('plugin'), sink),
    settings: r.settings(f.get('settings'), sink),
    windowSize: r.string(f.get('window-size'), sink),
    windowNackThreshold: r.string(f.get('window-nack-threshold'), sink),
  };
}

function warnIntroduced(r: NodeReader, e: Entry, since: Version): void {
  r.warn(
    Code.ConfigFieldUnknown,
    `field "${e.key}" was introduced in version ${since}; it is read anyway`,
    e.path,
    e.keyPos,
    `set "version: ${since}" or later`,
  );
}

/** Warns that a `${VAR}` named an unset variable, without naming it inside a secret. */
export function warnUnset(r: NodeReader, name: string, path: string, pos: Pos, secretKey: string | undefined): void {
  const message =
    secretKey === undefined
      ? `environment variable "${name}" is not set; it is replaced by an empty string`
      : `an environment variable in secret parameter "${secretKey}" is not set; it is replaced by an empty string`;
  r.warn(Code.ConfigEnvUnset, message, path, pos, 'set the variable in the environment Conduit runs in');
}
