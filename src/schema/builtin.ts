/**
 * The built-in schema registry (`schema-registry.type: builtin`, the default):
 * schemas live in the engine's state store, next to pipelines and positions,
 * so they survive restarts with them and need no other server.
 *
 * Keys (values JSON; see README.md):
 *
 * | Key                                         | Value                             |
 * | ------------------------------------------- | --------------------------------- |
 * | `schema:sequence`                           | `{"id":N}`, the last ID given     |
 * | `schema:id:<id>`                            | `{"id":N,"schema":"<text>"}`      |
 * | `schema:fingerprint:<sha256>`               | `{"id":N}`, of the normalized text |
 * | `schema:subject:<subject>:<version>`        | `{"subject","version","id"}`      |
 *
 * `<subject>` is URI-encoded (so `:` cannot make one subject's keys a prefix of
 * another's) and `<version>` is zero-padded to 10 digits (so keys sort by
 * version). A registration is one store write: all of it is durable or none.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../store/store.js';
import { AvroSchemaError, parseSchema } from './avro.js';
import { invalidSchema, notFound, type SchemaRegistry, type SubjectSchema } from './registry.js';

export const SchemaKey = {
  sequence: 'schema:sequence',
  id: (id: number) => `schema:id:${id}`,
  fingerprint: (sha256: string) => `schema:fingerprint:${sha256}`,
  subjectPrefix: (subject: string) => `schema:subject:${encodeURIComponent(subject)}:`,
  subjectVersion: (subject: string, version: number) =>
    `schema:subject:${encodeURIComponent(subject)}:${String(version).padStart(10, '0')}`,
} as const;

interface StoredId {
  readonly id: number;
  readonly schema: string;
}

/**
 * A schema registry over a state store. Use one instance per store (the
 * engine's): registrations are serialized inside the instance.
 *
 * @example
 * ```ts
 * const registry = new BuiltinRegistry(store);
 * const s = await registry.create('users', '{"type":"record","name":"u","fields":[{"name":"id","type":"long"}]}');
 * await registry.byId(s.id); // the schema text
 * ```
 */
export class BuiltinRegistry implements SchemaRegistry {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly ids = new Map<number, string>();
  private readonly versions = new Map<string, SubjectSchema>();

  constructor(private readonly store: Store) {}

  create(subject: string, schema: string): Promise<SubjectSchema> {
    const run = this.queue.then(() => this.createNow(subject, schema));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async createNow(subject: string, schema: string): Promise<SubjectSchema> {
    if (subject === '') throw invalidSchema('the subject is empty');
    let normalized: string;
    try {
      normalized = parseSchema(schema).normalized;
    } catch (e) {
      if (e instanceof AvroSchemaError)
        throw invalidSchema(`invalid Avro schema for subject "${subject}": ${e.message}`, e);
      throw e;
    }
    const fp = createHash('sha256').update(normalized).digest('hex');
    const known = await this.readJson<{ id: number }>(SchemaKey.fingerprint(fp));
    const existing = (await this.store.list(SchemaKey.subjectPrefix(subject))).map(
      ([, v]) => JSON.parse(v) as SubjectSchema,
    );
    if (known !== undefined) {
      const same = existing.filter((s) => s.id === known.id).pop();
      if (same !== undefined) return { ...same, schema: await this.byId(known.id) };
    }
    const last = existing[existing.length - 1];
    const version = last === undefined ? 1 : last.version + 1;
    const writes = [];
    let id: number;
    if (known !== undefined) {
      id = known.id;
    } else {
      const seq = await this.readJson<{ id: number }>(SchemaKey.sequence);
      id = (seq?.id ?? 0) + 1;
      const stored: StoredId = { id, schema };
      writes.push(
        { key: SchemaKey.sequence, value: JSON.stringify({ id }) },
        { key: SchemaKey.id(id), value: JSON.stringify(stored) },
        { key: SchemaKey.fingerprint(fp), value: JSON.stringify({ id }) },
      );
    }
    const record = { subject, version, id };
    writes.push({ key: SchemaKey.subjectVersion(subject, version), value: JSON.stringify(record) });
    await this.store.write(writes);
    const text = known === undefined ? schema : await this.byId(id);
    return { ...record, schema: text };
  }

  async bySubjectVersion(subject: string, version: number): Promise<SubjectSchema> {
    const key = SchemaKey.subjectVersion(subject, version);
    const cached = this.versions.get(key);
    if (cached !== undefined) return cached;
    const stored = await this.readJson<{ subject: string; version: number; id: number }>(key);
    if (stored === undefined) {
      throw notFound(
        `no schema with subject "${subject}" and version ${version} in the built-in schema registry`,
        'register the schema first, or check schema.preRegistered.subject and schema.preRegistered.version',
      );
    }
    const out: SubjectSchema = { subject, version, id: stored.id, schema: await this.byId(stored.id) };
    this.versions.set(key, out);
    return out;
  }

  async byId(id: number): Promise<string> {
    const cached = this.ids.get(id);
    if (cached !== undefined) return cached;
    const stored = await this.readJson<StoredId>(SchemaKey.id(id));
    if (stored === undefined) {
      throw notFound(
        `no schema with ID ${id} in the built-in schema registry`,
        'the data was encoded against another registry; set schema-registry.type to the one that wrote it',
      );
    }
    this.ids.set(id, stored.schema);
    return stored.schema;
  }

  private async readJson<T>(key: string): Promise<T | undefined> {
    const v = await this.store.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
}
