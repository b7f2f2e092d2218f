/**
 * `logrepl.withAvroSchema`: the Avro schemas of a table's key and payload,
 * registered in the engine's schema registry, and the metadata that names them
 * on each record (`opencdc.key.schema.subject`/`.version`,
 * `opencdc.payload.schema.subject`/`.version`), as Conduit's postgres connector
 * does: subjects `<collection>_key` and `<collection>_payload`, records in the
 * namespace `conduit.postgres` with their fields sorted by name.
 *
 * The types describe the values this connector puts in records (`avroTypeOf` in
 * types.ts), so `avro.encode` with these schemas takes the records as they are.
 */
import type { Logger } from '../../log/logger.js';
import { MetadataKey } from '../../opencdc/metadata.js';
import type { SchemaRegistry } from '../../schema/registry.js';
import { avroTypeOf, nullable, type TypeRegistry } from './types.js';

const NAMESPACE = 'conduit.postgres';
const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SchemaColumn {
  readonly name: string;
  readonly typeOid: number;
}

/** The schema texts of one table's key and payload; undefined when a column name cannot be an Avro field name. */
export function tableSchemas(
  collection: string,
  columns: readonly SchemaColumn[],
  key: readonly string[],
  types: TypeRegistry | undefined,
): { key: string; payload: string } | undefined {
  if (!columns.every((c) => AVRO_NAME.test(c.name))) return undefined;
  const sorted = [...columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const keys = new Set(key);
  const record = (suffix: string, fields: Array<{ name: string; type: unknown }>) =>
    JSON.stringify({ type: 'record', name: avroName(`${collection}_${suffix}`), namespace: NAMESPACE, fields });
  return {
    key: record(
      'key',
      sorted.filter((c) => keys.has(c.name)).map((c) => ({ name: c.name, type: avroTypeOf(c.typeOid, types) })),
    ),
    payload: record(
      'payload',
      sorted.map((c) => ({ name: c.name, type: nullable(avroTypeOf(c.typeOid, types)) })),
    ),
  };
}

/** A valid Avro name from a collection (`sales.orders_key` → `sales_orders_key`). */
function avroName(text: string): string {
  const name = text.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * Registers each table's schemas once per distinct set of columns and hands out the metadata that names them.
 * Registering a schema the subject already has returns its version, so restarts add no versions.
 */
export class SchemaAttacher {
  private readonly known = new Map<string, Readonly<Record<string, string>> | undefined>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly registry: SchemaRegistry,
    private readonly logger: Logger,
  ) {}

  /** The schema metadata for records of this table with these columns; undefined when it has none. */
  async metadata(
    collection: string,
    columns: readonly SchemaColumn[],
    key: readonly string[],
    types: TypeRegistry | undefined,
  ): Promise<Readonly<Record<string, string>> | undefined> {
    const schemas = tableSchemas(collection, columns, key, types);
    if (schemas === undefined) {
      if (!this.warned.has(collection)) {
        this.warned.add(collection);
        this.logger.warn('postgres: a column name is not a valid Avro field name; records carry no schema', {
          table: collection,
        });
      }
      return undefined;
    }
    const cacheKey = `${collection}\n${schemas.key}\n${schemas.payload}`;
    if (this.known.has(cacheKey)) return this.known.get(cacheKey);
    const k = await this.registry.create(`${collection}_key`, schemas.key);
    const p = await this.registry.create(`${collection}_payload`, schemas.payload);
    const meta = {
      [MetadataKey.KeySchemaSubject]: k.subject,
      [MetadataKey.KeySchemaVersion]: String(k.version),
      [MetadataKey.PayloadSchemaSubject]: p.subject,
      [MetadataKey.PayloadSchemaVersion]: String(p.version),
    };
    this.known.set(cacheKey, meta);
    return meta;
  }
}
