/**
 * Validates a raw pipeline against Conduit's rules and the plugins' parameter
 * specs. Every problem is collected; none is thrown.
 */
import { Code } from '../errors/codes.js';
import type { ConduitError } from '../errors/conduit-error.js';
import { closest, secretValues, validateSettings, type ParamSpecs } from '../sdk/params.js';
import { destinationSpecs, processorSpecs, sourceSpecs } from '../sdk/sdk-params.js';
import { parsePluginRef, type PluginRegistry } from '../plugins/registry.js';
import { DEFAULT_DLQ } from './types.js';
import { warnUnset } from './decode.js';
import type { Entity, Field, Pos, RawConnector, RawDLQ, RawPipeline, RawProcessor, SettingsField } from './raw.js';
import { pointer, type NodeReader } from './yaml-reader.js';

/** Conduit's ID rule for pipelines, connectors and processors. */
export const ID_PATTERN = /^[A-Za-z0-9_:.-]*$/;
export const LIMITS = {
  pipelineId: 128,
  pipelineName: 128,
  pipelineDescription: 8192,
  connectorId: 256,
  connectorName: 256,
} as const;

const INT = /^[+-]?\d+$/;

/** Validation state for one pipeline. */
class Check {
  readonly errors: ConduitError[] = [];
  /** JSON pointers of settings that are secret, mapped to their key. */
  readonly secretPaths = new Map<string, string>();

  constructor(
    readonly r: NodeReader,
    readonly registry: PluginRegistry,
  ) {}

  fail(code: string, message: string, path: string, pos: Pos, suggestion?: string): void {
    this.errors.push(this.r.problem(code, message, path, pos, suggestion));
  }

  /** A required string field: reports it missing or empty; returns the value otherwise. */
  required(f: Field<string> | undefined, owner: Entity, name: string, what: string): string | undefined {
    if (f !== undefined && f.value.trim() !== '') return f.value;
    this.fail(
      Code.ConfigFieldRequired,
      `${what} needs "${name}"`,
      f?.path ?? pointer(owner.path, name),
      f?.pos ?? owner.pos,
      `add "${name}"`,
    );
    return undefined;
  }

  maxLength(f: Field<string> | undefined, max: number, what: string): void {
    if (f === undefined || f.value.length <= max) return;
    this.fail(
      Code.ConfigFieldTooLong,
      `${what} is ${f.value.length} characters long; at most ${max} are allowed`,
      f.path,
      f.pos,
      `shorten it to ${max} characters or fewer`,
    );
  }

  id(f: Field<string> | undefined, owner: Entity, what: string, max?: number): string | undefined {
    const id = this.required(f, owner, 'id', what);
    if (id === undefined || f === undefined) return undefined;
    if (max !== undefined) this.maxLength(f, max, `${what} ID`);
    if (!ID_PATTERN.test(id)) {
      this.fail(
        Code.ConfigFieldInvalid,
        `${what} ID "${id}" contains characters that are not allowed`,
        f.path,
        f.pos,
        'use only letters, digits and the characters - _ : .',
      );
    }
    return id;
  }

  /** A whole number ≥ 0. */
  count(f: Field<string> | undefined, what: string): void {
    if (f === undefined) return;
    const v = f.value.trim();
    if (v === '') return; // empty means the default, as in Conduit
    if (!INT.test(v)) {
      this.fail(Code.ConfigFieldInvalid, `${what} must be a whole number`, f.path, f.pos, 'use a number such as 1');
    } else if (Number(v) < 0) {
      this.fail(Code.ConfigFieldInvalid, `${what} must not be negative`, f.path, f.pos, 'use 0 or more');
    }
  }

  /** Reports a later use of an ID already taken in the same list. */
  duplicates(items: readonly { id?: Field<string> }[], what: string, scope: string): void {
    const first = new Map<string, Field<string>>();
    for (const item of items) {
      const f = item.id;
      if (f === undefined || f.value === '') continue;
      const prev = first.get(f.value);
      if (prev === undefined) {
        first.set(f.value, f);
        continue;
      }
      this.fail(
        Code.ConfigIdDuplicate,
        `${what} ID "${f.value}" is used more than once in ${scope}`,
        f.path,
        f.pos,
        `give each ${what} its own ID; "${f.value}" is first used at line ${prev.pos.line}`,
      );
    }
  }

  /** Validates settings against specs and remembers which are secret. */
  settings(specs: ParamSpecs, s: SettingsField | undefined, owner: Entity, plugin: string, input = s?.value): void {
    const prefix = s?.path ?? pointer(owner.path, 'settings');
    const fallback = s?.keyPos ?? owner.pos; // a missing parameter points at the settings key
    const { errors } = validateSettings(specs, input ?? {}, {
      pathPrefix: prefix,
      file: this.r.file,
      plugin,
      locate: (key) => s?.keys.get(key) ?? fallback,
    });
    // a value the reader already rejected (a nested map, say) is not reported again as missing
    const reported = new Set(this.errors.map((e) => e.configPath));
    this.errors.push(...errors.filter((e) => !reported.has(e.configPath)));
    this.rememberSecrets(specs, s);
  }

  rememberSecrets(specs: ParamSpecs, s: SettingsField | undefined): void {
    if (s === undefined) return;
    for (const key of Object.keys(s.value)) {
      if (secretValues(specs, { [key]: 'x' }).length > 0) this.secretPaths.set(pointer(s.path, key), key);
    }
  }
}

/**
 * Validates one pipeline. Returns its errors (the reading errors first);
 * warnings, such as unset environment variables, go to the reader.
 */
export function validatePipeline(p: RawPipeline, r: NodeReader, registry: PluginRegistry): ConduitError[] {
  const c = new Check(r, registry);
  c.errors.push(...p.errors);
  if (p.broken === true) return c.errors;
  const id = c.id(p.id, p, 'pipeline', LIMITS.pipelineId);
  const what = id === undefined ? 'the pipeline' : `pipeline "${id}"`;
  checkStatus(c, p.status);
  c.maxLength(p.name, LIMITS.pipelineName, 'the pipeline name');
  c.maxLength(p.description, LIMITS.pipelineDescription, 'the pipeline description');
  for (const conn of p.connectors) checkConnector(c, conn);
  c.duplicates(p.connectors, 'connector', what);
  checkProcessors(c, p.processors, what);
  checkDLQ(c, p.dlq);
  checkTopology(c, p, what);
  for (const u of p.unsetVars) warnUnset(r, u.name, u.path, u.pos, c.secretPaths.get(u.path));
  return c.errors;
}

function checkStatus(c: Check, f: Field<string> | undefined): void {
  if (f === undefined || f.value === '' || f.value === 'running' || f.value === 'stopped') return;
  c.fail(
    Code.ConfigFieldInvalid,
    `status "${f.value}" is not valid`,
    f.path,
    f.pos,
    `use "running" or "stopped"${closest(f.value, ['running', 'stopped']) === 'stopped' ? ' (did you mean "stopped"?)' : ''}`,
  );
}

function checkConnector(c: Check, conn: RawConnector): void {
  if (conn.broken === true) return;
  const id = c.id(conn.id, conn, 'connector', LIMITS.connectorId);
  const what = id === undefined ? 'the connector' : `connector "${id}"`;
  c.maxLength(conn.name, LIMITS.connectorName, `the name of ${what}`);
  const type = checkConnectorType(c, conn, what);
  const specs = connectorSpecs(c, conn.plugin, conn, what, type);
  if (specs !== undefined) c.settings(specs.specs, conn.settings, conn, specs.name);
  else c.rememberSecrets({}, conn.settings);
  checkProcessors(c, conn.processors, what);
}

function checkConnectorType(c: Check, conn: RawConnector, what: string): 'source' | 'destination' | undefined {
  const type = c.required(conn.type, conn, 'type', what);
  if (type === undefined || conn.type === undefined) return undefined;
  if (type === 'source' || type === 'destination') return type;
  const near = closest(type, ['source', 'destination']);
  c.fail(
    Code.ConfigFieldInvalid,
    `connector type "${type}" is not valid`,
    conn.type.path,
    conn.type.pos,
    `use "source" or "destination"${near === undefined ? '' : ` (did you mean "${near}"?)`}`,
  );
  return undefined;
}

/** Finds the connector plugin and the full spec of its settings for the connector type. */
function connectorSpecs(
  c: Check,
  f: Field<string> | undefined,
  owner: Entity,
  what: string,
  type: 'source' | 'destination' | undefined,
): { specs: ParamSpecs; name: string } | undefined {
  const ref = c.required(f, owner, 'plugin', what);
  if (ref === undefined || f === undefined) return undefined;
  const plugin = c.registry.connector(ref);
  const name = parsePluginRef(ref).name;
  if (plugin === undefined) {
    const names = c.registry.connectors().map((p) => p.name);
    c.fail(
      Code.PluginNotFound,
      `connector plugin "${ref}" of ${what} is not known`,
      f.path,
      f.pos,
      suggestName(name, names, 'connector-plugins'),
    );
    return undefined;
  }
  if (type === undefined) return undefined;
  const side = type === 'source' ? plugin.source : plugin.destination;
  if (side === undefined) {
    const other = type === 'source' ? 'destination' : 'source';
    c.fail(
      Code.PluginTypeUnsupported,
      `plugin "${name}" of ${what} cannot be used as a ${type}`,
      f.path,
      f.pos,
      `use "${name}" as a ${other}, or pick a plugin that has a ${type}`,
    );
    return undefined;
  }
  return { specs: type === 'source' ? sourceSpecs(side.params) : destinationSpecs(side.params), name };
}

function suggestName(name: string, known: readonly string[], list: string): string {
  const near = closest(name, known);
  if (near !== undefined) return `did you mean "${near}"?`;
  return known.length === 0 ? `no ${list} are registered` : `use one of: ${known.join(', ')}`;
}

function checkProcessors(c: Check, list: readonly RawProcessor[], scope: string): void {
  for (const proc of list) checkProcessor(c, proc);
  c.duplicates(list, 'processor', scope);
}

function checkProcessor(c: Check, proc: RawProcessor): void {
  if (proc.broken === true) return;
  const id = c.id(proc.id, proc, 'processor');
  const what = id === undefined ? 'the processor' : `processor "${id}"`;
  c.count(proc.workers, `"workers" of ${what}`);
  const ref = c.required(proc.plugin, proc, 'plugin', what);
  if (ref === undefined || proc.plugin === undefined) {
    c.rememberSecrets({}, proc.settings);
    return;
  }
  const plugin = c.registry.processor(ref);
  const name = parsePluginRef(ref).name;
  if (plugin === undefined) {
    const names = c.registry.processors().map((p) => p.name);
    c.fail(
      Code.ProcessorPluginNotFound,
      `processor plugin "${ref}" of ${what} is not known`,
      proc.plugin.path,
      proc.plugin.pos,
      suggestName(name, names, 'processor-plugins'),
    );
    c.rememberSecrets({}, proc.settings);
    return;
  }
  c.settings(processorSpecs(plugin.params), proc.settings, proc, name);
}

/** The DLQ plugin must be a destination; its settings default only for the default `log` plugin. */
function checkDLQ(c: Check, dlq: RawDLQ | undefined): void {
  if (dlq === undefined) return;
  c.count(dlq.windowSize, '"window-size" of the dead-letter queue');
  c.count(dlq.windowNackThreshold, '"window-nack-threshold" of the dead-letter queue');
  const written = dlq.plugin !== undefined && dlq.plugin.value.trim() !== '';
  const ref = written && dlq.plugin !== undefined ? dlq.plugin.value : DEFAULT_DLQ.pluginRef;
  const plugin = c.registry.connector(ref);
  const name = parsePluginRef(ref).name;
  if (plugin === undefined) {
    if (written && dlq.plugin !== undefined) {
      c.fail(
        Code.PluginNotFound,
        `dead-letter queue plugin "${ref}" is not known`,
        dlq.plugin.path,
        dlq.plugin.pos,
        suggestName(
          name,
          c.registry.connectors().map((p) => p.name),
          'connector-plugins',
        ),
      );
    }
    c.rememberSecrets({}, dlq.settings);
    return;
  }
  if (plugin.destination === undefined) {
    c.fail(
      Code.PluginTypeUnsupported,
      `dead-letter queue plugin "${name}" is not a destination`,
      dlq.plugin?.path ?? pointer(dlq.path, 'plugin'),
      dlq.plugin?.pos ?? dlq.pos,
      'use a destination plugin, e.g. "builtin:log" or "builtin:file"',
    );
    return;
  }
  const input = dlq.settings?.value ?? (name === DEFAULT_DLQ.plugin ? DEFAULT_DLQ.settings : {});
  c.settings(destinationSpecs(plugin.destination.params), dlq.settings, dlq, name, input);
}

/** A running pipeline needs a source and a destination; a stopped one only gets a warning. */
function checkTopology(c: Check, p: RawPipeline, what: string): void {
  const types = p.connectors.map((conn) => conn.type?.value);
  // a connector without a valid type is already reported; guessing what it was meant to be would mislead
  if (types.some((t) => t !== 'source' && t !== 'destination')) return;
  const missing = ['source', 'destination'].filter((t) => !types.includes(t));
  if (missing.length === 0) return;
  const message = `${what} has no ${missing.join(' and no ')}; it needs at least one source and one destination`;
  const path = pointer(p.path, 'connectors');
  const pos = p.connectorsKey ?? p.pos;
  const suggestion = `add a connector with "type: ${missing[0] ?? 'source'}"`;
  if (p.status?.value === 'stopped') c.r.warn(Code.PipelineInvalid, `${message} to run`, path, pos, suggestion);
  else c.fail(Code.PipelineInvalid, message, path, pos, suggestion);
}
