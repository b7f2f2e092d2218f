/**
 * The schema registry contract: what `avro.encode` and `avro.decode` need from
 * a registry, kept by the engine (`schema-registry.type`): the built-in one in
 * the state store (`builtin.ts`) or a Confluent-compatible server
 * (`confluent.ts`). Like Conduit's, schemas are Avro only; IDs are global,
 * versions count from 1 per subject.
 */
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';

/**
 * Error codes of the schema registry (`schema.*`). Until src/errors/codes.ts
 * registers them they are plain strings; their classes are noted on each.
 */
/** The registry's error codes (registered in errors/codes.ts). */
export const SchemaCode = {
  NotFound: Code.SchemaNotFound,
  Invalid: Code.SchemaInvalid,
  RegistryUnreachable: Code.SchemaRegistryUnreachable,
  RegistryUnauthorized: Code.SchemaRegistryUnauthorized,
} as const;

/** A schema as registered under a subject. */
export interface SubjectSchema {
  readonly subject: string;
  /** 1, 2, … per subject. */
  readonly version: number;
  /** Global: the same schema text has the same ID under every subject. */
  readonly id: number;
  /** The Avro schema, JSON text. */
  readonly schema: string;
}

export interface CreateOptions {
  /**
   * Turn the subject's compatibility checks off when it does not exist yet
   * (the `autoRegister` strategy: inferred schemas need not be compatible).
   */
  readonly compatibilityNone?: boolean;
}

export interface SchemaRegistry {
  /**
   * Registers an Avro schema under a subject. A schema already registered
   * under the subject returns that version; a schema registered under other
   * subjects keeps its ID.
   *
   * @throws ConduitError `schema.invalid`, `schema.registry_unreachable`, `schema.registry_unauthorized`.
   */
  create(subject: string, schema: string, opts?: CreateOptions): Promise<SubjectSchema>;
  /** @throws ConduitError `schema.not_found` when the subject or version does not exist; or as `create`. */
  bySubjectVersion(subject: string, version: number): Promise<SubjectSchema>;
  /** The schema text of an ID. @throws ConduitError `schema.not_found`; or as `create`. */
  byId(id: number): Promise<string>;
}

/**
 * The part of a processor's context the Avro processors read: the engine's
 * registry. (Structural, so that this module does not depend on the SDK; once
 * `ProcessorContext` carries `schemaRegistry`, every context fits it.)
 */
export interface SchemaProcessorContext {
  readonly processorId: string;
  readonly schemaRegistry?: SchemaRegistry;
}

export function notFound(message: string, suggestion?: string): ConduitError {
  return new ConduitError(SchemaCode.NotFound, message, {
    retryable: false,
    ...(suggestion === undefined ? {} : { suggestion }),
  });
}

export function invalidSchema(message: string, cause?: unknown): ConduitError {
  return new ConduitError(SchemaCode.Invalid, message, {
    retryable: false,
    suggestion: 'see https://avro.apache.org/docs/1.11.1/specification/ for what a schema may hold',
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The registry the engine put in a processor's context.
 *
 * @throws ConduitError `internal` when there is none: the engine always provides one.
 */
export function registryFromContext(ctx: SchemaProcessorContext, plugin: string): SchemaRegistry {
  const registry = ctx.schemaRegistry;
  if (registry === undefined) {
    throw new ConduitError(
      Code.Internal,
      `processor ${ctx.processorId} (${plugin}): no schema registry was given to the processor`,
      { suggestion: 'the engine provides one (schema-registry.type); this is a bug in the engine' },
    );
  }
  return registry;
}
