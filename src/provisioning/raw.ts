/**
 * The pipeline file as read, before enrichment: every field keeps its JSON
 * pointer and where it sits in the file, so validation can point at it.
 * Internal to the provisioning module.
 */
import type { ConduitError } from '../errors/conduit-error.js';

/** A 1-based line and column. */
export interface Pos {
  readonly line: number;
  readonly column: number;
}

/** A field read from the file. */
export interface Field<T> {
  readonly value: T;
  /** JSON pointer of the field within its document. */
  readonly path: string;
  /** Where the key is: unknown and renamed fields point here. */
  readonly keyPos: Pos;
  /** Where the value is: bad values point here. */
  readonly pos: Pos;
}

/** A `settings` map: values are strings, as in Conduit. */
export interface SettingsField extends Field<Record<string, string>> {
  /** Where each (trimmed) settings key sits. */
  readonly keys: ReadonlyMap<string, Pos>;
}

/** Something that has a place even when a field of it is missing. */
export interface Entity {
  /** JSON pointer of the entity, e.g. `/pipelines/0/connectors/1` or `/pipelines/p1`. */
  readonly path: string;
  /** Start of the entity (for v1 map entries: its key). */
  readonly pos: Pos;
  /** The node is not a mapping; that is reported, and nothing else about it. */
  readonly broken?: boolean;
}

export interface RawProcessor extends Entity {
  readonly id?: Field<string>;
  /** The plugin reference: `plugin`, or `type` where that is what the version uses. */
  readonly plugin?: Field<string>;
  readonly condition?: Field<string>;
  readonly settings?: SettingsField;
  /** The text as written; validation checks it is a whole number. */
  readonly workers?: Field<string>;
}

export interface RawConnector extends Entity {
  readonly id?: Field<string>;
  readonly type?: Field<string>;
  readonly plugin?: Field<string>;
  readonly name?: Field<string>;
  readonly settings?: SettingsField;
  readonly processors: readonly RawProcessor[];
}

export interface RawDLQ extends Entity {
  readonly plugin?: Field<string>;
  readonly settings?: SettingsField;
  readonly windowSize?: Field<string>;
  readonly windowNackThreshold?: Field<string>;
}

/** A `${VAR}` that named an unset variable. Reported once validation knows which settings are secret. */
export interface UnsetVar {
  readonly name: string;
  readonly path: string;
  readonly pos: Pos;
}

export interface RawPipeline extends Entity {
  readonly id?: Field<string>;
  readonly status?: Field<string>;
  readonly name?: Field<string>;
  readonly description?: Field<string>;
  readonly connectors: readonly RawConnector[];
  /** The `connectors` key, if present. */
  readonly connectorsKey?: Pos;
  readonly processors: readonly RawProcessor[];
  readonly dlq?: RawDLQ;
  /** Problems found while reading the pipeline (wrong node types, duplicate keys). */
  readonly errors: ConduitError[];
  readonly unsetVars: UnsetVar[];
}

/** One YAML document of a file. */
export interface RawDocument {
  /** The version the document is read as (after fallbacks). */
  readonly version: string;
  readonly pipelines: readonly RawPipeline[];
}
