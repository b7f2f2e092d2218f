/**
 * Pipeline configuration after parsing and enrichment: the shape the engine
 * runs. IDs are already prefixed (`<pipelineID>:<connectorID>`,
 * `<parentID>:<processorID>`) and every default is filled in.
 */

export type PipelineStatusSetting = 'running' | 'stopped';
export type ConnectorType = 'source' | 'destination';

export interface ProcessorConfig {
  /** Full ID: `<parentID>:<id>`. */
  readonly id: string;
  /** Plugin name without prefix or version, e.g. `field.set`. */
  readonly plugin: string;
  /** The plugin reference as written, e.g. `builtin:field.set@v0.1.0`. */
  readonly pluginRef: string;
  /** Go template; empty means always. */
  readonly condition: string;
  readonly settings: Readonly<Record<string, string>>;
  /** At least 1. */
  readonly workers: number;
}

export interface ConnectorConfig {
  /** Full ID: `<pipelineID>:<id>`. */
  readonly id: string;
  readonly type: ConnectorType;
  /** Plugin name without prefix or version, e.g. `file`. */
  readonly plugin: string;
  readonly pluginRef: string;
  readonly name: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly processors: readonly ProcessorConfig[];
}

export interface DLQConfig {
  readonly plugin: string;
  readonly pluginRef: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly windowSize: number;
  readonly windowNackThreshold: number;
}

export interface PipelineConfig {
  readonly id: string;
  readonly status: PipelineStatusSetting;
  readonly name: string;
  readonly description: string;
  readonly connectors: readonly ConnectorConfig[];
  readonly processors: readonly ProcessorConfig[];
  readonly dlq: DLQConfig;
  /** Where the pipeline came from, for messages: a file path, or `api`. */
  readonly origin?: { readonly file?: string; readonly line?: number };
}

export const DEFAULT_DLQ: DLQConfig = {
  plugin: 'log',
  pluginRef: 'builtin:log',
  settings: { level: 'warn', message: 'record delivery failed' },
  windowSize: 1,
  windowNackThreshold: 0,
};
