/**
 * Compiled schemas for the Avro processors, cached per registry so that the
 * `workers` instances of a processor and every processor of the engine share
 * them. A schema by ID or by subject and version never changes, so entries
 * never go stale; failed look-ups are not kept (the next record tries again).
 */
import { AvroSchemaError, parseSchema, type AvroSchema } from './avro.js';
import { invalidSchema, type SchemaRegistry } from './registry.js';

export interface CompiledSchema {
  readonly id: number;
  /** Known when the schema was found by subject and version (or registered). */
  readonly subject?: string;
  readonly version?: number;
  readonly avro: AvroSchema;
}

interface Caches {
  readonly byId: Map<number, CompiledSchema>;
  readonly bySubjectVersion: Map<string, CompiledSchema>;
  readonly pending: Map<string, Promise<CompiledSchema>>;
}

/** More distinct schemas than this per registry and the cache starts over (bounded memory). */
const MAX_ENTRIES = 10_000;

const caches = new WeakMap<SchemaRegistry, Caches>();

function cachesOf(registry: SchemaRegistry): Caches {
  let c = caches.get(registry);
  if (c === undefined) {
    c = { byId: new Map(), bySubjectVersion: new Map(), pending: new Map() };
    caches.set(registry, c);
  }
  return c;
}

/** The cached schema of an ID, without waiting; undefined when it must be fetched. */
export function cachedById(registry: SchemaRegistry, id: number): CompiledSchema | undefined {
  return cachesOf(registry).byId.get(id);
}

/** The schema of an ID, fetched once. @throws ConduitError `schema.not_found`, `schema.invalid`, … */
export function schemaById(registry: SchemaRegistry, id: number): Promise<CompiledSchema> {
  const c = cachesOf(registry);
  const hit = c.byId.get(id);
  if (hit !== undefined) return Promise.resolve(hit);
  return once(c, `id:${id}`, async () => {
    const text = await registry.byId(id);
    const compiled: CompiledSchema = { id, avro: compile(text, `the schema with ID ${id}`) };
    remember(c.byId, id, compiled);
    return compiled;
  });
}

/** The schema of a subject and version, fetched once. */
export function schemaBySubjectVersion(
  registry: SchemaRegistry,
  subject: string,
  version: number,
): Promise<CompiledSchema> {
  const c = cachesOf(registry);
  const key = `${subject}\u0000${version}`;
  const hit = c.bySubjectVersion.get(key);
  if (hit !== undefined) return Promise.resolve(hit);
  return once(c, `sv:${key}`, async () => {
    const s = await registry.bySubjectVersion(subject, version);
    const compiled: CompiledSchema = {
      id: s.id,
      subject,
      version,
      avro: compile(s.schema, `the schema of subject "${subject}" version ${version}`),
    };
    remember(c.bySubjectVersion, key, compiled);
    remember(c.byId, s.id, { id: s.id, avro: compiled.avro });
    return compiled;
  });
}

/** Compiles schema text. @throws ConduitError `schema.invalid` */
export function compile(text: string, what: string): AvroSchema {
  try {
    return parseSchema(text);
  } catch (e) {
    if (e instanceof AvroSchemaError) throw invalidSchema(`${what} is not a valid Avro schema: ${e.message}`, e);
    throw e;
  }
}

function once(c: Caches, key: string, load: () => Promise<CompiledSchema>): Promise<CompiledSchema> {
  const pending = c.pending.get(key);
  if (pending !== undefined) return pending;
  const p = load().finally(() => c.pending.delete(key));
  c.pending.set(key, p);
  return p;
}

function remember<K>(m: Map<K, CompiledSchema>, k: K, v: CompiledSchema): void {
  if (m.size >= MAX_ENTRIES) m.clear();
  m.set(k, v);
}
