/**
 * The postgres connector's parameters, with Conduit's names and defaults where
 * Conduit has them: the single source for validation, defaults, docs and
 * secret redaction.
 */
import type { ParamSpecs } from '../../sdk/params.js';

const url = {
  type: 'string',
  required: true,
  secret: true,
  description:
    'Connection string of the database, e.g. `postgres://user:password@host:5432/db?sslmode=require`. ' +
    'It holds the password, so it is never shown.',
} as const;

export const SNAPSHOT_MODES = ['initial', 'never'] as const;
export const CDC_MODES = ['auto', 'logrepl'] as const;
export const TOAST_POLICIES = ['placeholder', 'omit'] as const;
export const SCHEMA_CHANGE_POLICIES = ['continue', 'stop'] as const;

export const sourceParams: ParamSpecs = {
  url,
  tables: {
    type: 'string',
    required: true,
    list: true,
    description:
      'The tables to read, as a comma-separated list (`orders,public.customers`), or `*` for every table in the ' +
      "connection's current schema. Every table needs a primary key: it is the record key and the snapshot order.",
  },
  snapshotMode: {
    type: 'string',
    default: 'initial',
    inclusion: SNAPSHOT_MODES,
    description:
      '`initial` reads every table first, under the snapshot the replication slot exported, then streams ' +
      'changes from exactly that point; `never` only streams changes.',
  },
  'snapshot.fetchSize': {
    type: 'int',
    default: '50000',
    greaterThan: 0,
    description:
      'How many snapshot rows at most are read ahead of the pipeline (fewer when they would be more than about ' +
      '512 KiB of row text); each table is one COPY in key order, paused while they wait.',
  },
  cdcMode: {
    type: 'string',
    default: 'auto',
    inclusion: CDC_MODES,
    description: 'How changes are captured. Both `auto` and `logrepl` use logical replication with pgoutput.',
  },
  'logrepl.slotName': {
    type: 'string',
    default: 'conduitslot',
    regex: '^[a-z0-9_]+$',
    description: 'The logical replication slot. Created when missing, reused when present.',
  },
  'logrepl.publicationName': {
    type: 'string',
    default: 'conduitpub',
    description: 'The publication of the captured tables. Created when missing, reused (and extended) when present.',
  },
  'logrepl.autoCleanup': {
    type: 'bool',
    default: 'true',
    description: 'Drop the replication slot and the publication when the connector is deleted.',
  },
  'logrepl.withAvroSchema': {
    type: 'bool',
    default: 'true',
    description:
      "Register each table's key and payload Avro schemas (subjects `<table>_key`, `<table>_payload`) in the engine's " +
      'schema registry and name them on every record (`opencdc.key.schema.*`, `opencdc.payload.schema.*`).',
  },
  'logrepl.heartbeat.interval': {
    type: 'duration',
    default: '10s',
    greaterThan: -1,
    description:
      'How often to write a heartbeat into the WAL (`pg_logical_emit_message`), so that the slot advances while ' +
      'the captured tables are idle and the server is busy elsewhere. 0 turns it off.',
  },
  'logrepl.toast.unchanged': {
    type: 'string',
    default: 'placeholder',
    inclusion: TOAST_POLICIES,
    description:
      'What an update carries for a TOASTed column it did not change, when the old value is not available ' +
      '(replica identity other than FULL): `placeholder` puts `logrepl.toast.placeholder` in the field; `omit` ' +
      'leaves the field out. Either way the metadata `postgres.toast.unchanged` names the columns.',
  },
  'logrepl.toast.placeholder': {
    type: 'string',
    default: '__conduit_unchanged_toast__',
    description: 'The value of an unchanged TOAST column under the `placeholder` policy.',
  },
  schemaChange: {
    type: 'string',
    default: 'continue',
    inclusion: SCHEMA_CHANGE_POLICIES,
    description:
      'What a column added, dropped or retyped in a captured table does: `continue` announces it in the metadata ' +
      'of the next record (`postgres.schema.change`) and goes on; `stop` stops the pipeline with an error.',
  },
};

export const destinationParams: ParamSpecs = {
  url,
  table: {
    type: 'string',
    default: '{{ index .Metadata "opencdc.collection" }}',
    description:
      'The table to write to: a name, or a Go template evaluated per record. The default is the collection the ' +
      'record came from.',
  },
  key: {
    type: 'string',
    list: true,
    description:
      'The key columns for upserts and deletes. Default: the fields of the record key, or the primary key of the ' +
      'table when the record key is raw.',
  },
};
