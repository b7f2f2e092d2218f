/**
 * JSON Schema (draft 2020-12, also read by draft-07 tools) for version 2.x
 * pipeline files, generated from the plugins' parameter specs, so that an
 * editor can complete and check settings for the plugin a connector names.
 */
import type { PluginRegistry } from '../plugins/registry.js';
import { specsToJsonSchema, type ParamSpecs } from '../sdk/params.js';
import { destinationSpecs, processorSpecs, sourceSpecs } from '../sdk/sdk-params.js';
import { ID_PATTERN, LIMITS } from './validate.js';

type Schema = Record<string, unknown>;

/** YAML scalars may be numbers or booleans; Conduit reads them as strings. */
const SCALAR = ['string', 'number', 'boolean'];

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A pattern matching every way of writing a reference to `name`: `[builtin:|standalone:|any:]name[@version]`. */
export function pluginRefPattern(names: readonly string[]): string {
  const alt = names.map(escapeRegex).join('|');
  return `^((builtin|standalone|any):)?(${alt === '' ? '(?!)' : alt})(@.+)?$`;
}

/** Settings schema from specs, accepting YAML numbers and booleans where Conduit would. */
function settingsSchema(specs: ParamSpecs): Schema {
  const schema = specsToJsonSchema(specs);
  const loosen = (props: unknown): void => {
    for (const p of Object.values((props ?? {}) as Record<string, Schema>)) p['type'] = SCALAR;
  };
  loosen(schema['properties']);
  loosen(schema['patternProperties']);
  return schema;
}

/** `if plugin names one of these [and type is …] then settings follow this schema`. */
function rule(name: string, specs: ParamSpecs, type?: string): Schema {
  const props: Schema = { plugin: { pattern: pluginRefPattern([name]) } };
  const required = ['plugin'];
  if (type !== undefined) {
    props['type'] = { const: type };
    required.push('type');
  }
  return { if: { properties: props, required }, then: { properties: { settings: settingsSchema(specs) } } };
}

function connectorRules(registry: PluginRegistry): Schema[] {
  const rules: Schema[] = [];
  for (const p of registry.connectors()) {
    if (p.source !== undefined) rules.push(rule(p.name, sourceSpecs(p.source.params), 'source'));
    if (p.destination !== undefined) {
      rules.push(rule(p.name, destinationSpecs(p.destination.params), 'destination'));
    }
  }
  return rules;
}

const looseSettings: Schema = {
  type: 'object',
  additionalProperties: { type: SCALAR },
  description: 'Plugin settings; every value is read as a string.',
};

const processorId: Schema = { type: 'string', pattern: ID_PATTERN.source, minLength: 1 };

function processorSchema(registry: PluginRegistry): Schema {
  const names = registry.processors().map((p) => p.name);
  const pluginRules = registry.processors().flatMap((p) => [
    rule(p.name, processorSpecs(p.params)),
    // deprecated "type" instead of "plugin"
    {
      if: {
        properties: { type: { pattern: pluginRefPattern([p.name]) } },
        required: ['type'],
        not: { required: ['plugin'] },
      },
      then: { properties: { settings: settingsSchema(processorSpecs(p.params)) } },
    },
  ]);
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    anyOf: [{ required: ['plugin'] }, { required: ['type'] }],
    properties: {
      id: { ...processorId, description: 'Unique within its parent; stored as <parentID>:<id>.' },
      plugin: {
        type: 'string',
        pattern: pluginRefPattern(names),
        examples: names,
        description: 'Processor plugin: [builtin:|standalone:]name[@version].',
      },
      type: { type: 'string', deprecated: true, description: 'Deprecated since 2.2: use "plugin".' },
      condition: { type: 'string', description: 'Go template; the processor runs only on records where it is true.' },
      settings: looseSettings,
      workers: { type: 'integer', minimum: 0, default: 1, description: 'Parallel workers; 0 means 1.' },
    },
    allOf: pluginRules,
  };
}

function connectorSchema(registry: PluginRegistry): Schema {
  const names = registry.connectors().map((p) => p.name);
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'plugin'],
    properties: {
      id: { type: 'string', pattern: ID_PATTERN.source, minLength: 1, maxLength: LIMITS.connectorId },
      type: { enum: ['source', 'destination'] },
      plugin: {
        type: 'string',
        pattern: pluginRefPattern(names),
        examples: names,
        description: 'Connector plugin: [builtin:|standalone:]name[@version].',
      },
      name: { type: 'string', maxLength: LIMITS.connectorName },
      settings: looseSettings,
      processors: { type: 'array', items: { $ref: '#/$defs/processor' } },
    },
    allOf: connectorRules(registry),
  };
}

function dlqSchema(registry: PluginRegistry): Schema {
  const dests = registry.connectors().filter((p) => p.destination !== undefined);
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      plugin: { type: 'string', pattern: pluginRefPattern(dests.map((p) => p.name)), default: 'builtin:log' },
      settings: looseSettings,
      'window-size': { type: 'integer', minimum: 0, default: 1 },
      'window-nack-threshold': { type: 'integer', minimum: 0, default: 0 },
    },
    allOf: dests.map((p) => rule(p.name, destinationSpecs(p.destination?.params ?? {}))),
  };
}

function pipelineSchema(): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: {
      id: { type: 'string', pattern: ID_PATTERN.source, minLength: 1, maxLength: LIMITS.pipelineId },
      status: { enum: ['running', 'stopped'], default: 'running' },
      name: { type: 'string', maxLength: LIMITS.pipelineName },
      description: { type: 'string', maxLength: LIMITS.pipelineDescription },
      connectors: { type: 'array', items: { $ref: '#/$defs/connector' } },
      processors: { type: 'array', items: { $ref: '#/$defs/processor' } },
      'dead-letter-queue': { $ref: '#/$defs/dlq' },
    },
  };
}

/**
 * The JSON Schema of a version 2.x pipeline file for the plugins in
 * `registry`. Connector, processor and DLQ `settings` are checked per plugin
 * (an `if` on `plugin`, and on `type` for connectors).
 *
 * @example writeFileSync('pipeline.schema.json', JSON.stringify(pipelineFileJsonSchema(registry), null, 2));
 */
export function pipelineFileJsonSchema(registry: PluginRegistry): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://conduit.io/schemas/pipeline-file-v2.2.json',
    title: 'Conduit pipeline file (version 2.x)',
    type: 'object',
    additionalProperties: false,
    properties: {
      version: { enum: ['2.0', '2.1', '2.2', 2, 2.1, 2.2], default: '2.2' },
      pipelines: { type: 'array', items: { $ref: '#/$defs/pipeline' } },
    },
    $defs: {
      pipeline: pipelineSchema(),
      connector: connectorSchema(registry),
      processor: processorSchema(registry),
      dlq: dlqSchema(registry),
    },
  };
}
