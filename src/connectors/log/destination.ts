/**
 * The log destination: logs every record through the engine's logger, formatted
 * by `sdk.record.format` (opencdc/json by default), in the `record` field.
 */
import type { Level, Logger } from '../../log/logger.js';
import type { OpenCDCRecord } from '../../opencdc/record.js';
import type { Destination, DestinationContext, RecordFormatter, WriteOutcome } from '../../sdk/connector.js';
import type { Config } from '../../sdk/params.js';

export class LogDestination implements Destination {
  private level: Level = 'info';
  private message = '';
  private logger: Logger | undefined;
  private format: RecordFormatter = () => '';

  configure(config: Config, ctx: DestinationContext): void {
    this.level = config.string('level') as Level;
    this.message = config.string('message');
    this.logger = ctx.logger;
    this.format = ctx.format;
  }

  async open(): Promise<void> {}

  async write(records: readonly OpenCDCRecord[]): Promise<WriteOutcome | undefined> {
    const logger = this.logger;
    if (logger === undefined || !logger.enabled(this.level)) return undefined;
    let outcomes: (Error | undefined)[] | undefined;
    for (let i = 0; i < records.length; i++) {
      try {
        logger.log(this.level, this.message, { record: asField(this.format(records[i] as OpenCDCRecord)) });
      } catch (err) {
        outcomes ??= new Array<Error | undefined>(records.length).fill(undefined);
        outcomes[i] = err instanceof Error ? err : new Error(String(err));
      }
    }
    return outcomes;
  }

  async teardown(): Promise<void> {}
}

/** JSON text becomes an object, so a JSON log line nests it instead of quoting it. */
function asField(formatted: string | Uint8Array): unknown {
  const text = typeof formatted === 'string' ? formatted : Buffer.from(formatted).toString('utf8');
  const c = text.charCodeAt(0);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    try {
      return JSON.parse(text);
    } catch {
      // not JSON after all (a template format, say): log the text
    }
  }
  return text;
}
