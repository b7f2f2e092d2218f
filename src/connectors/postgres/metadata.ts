/** Metadata keys the postgres connector sets (source) and reads (destination), besides the OpenCDC ones. */
export const PgMetadata = {
  /** The transaction's id (xid). */
  TxId: 'postgres.tx.id',
  /** The LSN of the transaction's commit record: equal on every change of one transaction. */
  TxLsn: 'postgres.tx.lsn',
  /** The change's index in its transaction, from 0. */
  TxSeq: 'postgres.tx.seq',
  /**
   * Columns of an update whose unchanged TOAST value was not available (comma-separated). The destination
   * does not write them, so the row keeps its value.
   */
  ToastUnchanged: 'postgres.toast.unchanged',
  /** On the first change after a table's columns changed: what changed (JSON). */
  SchemaChange: 'postgres.schema.change',
} as const;
