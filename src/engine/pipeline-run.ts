/**
 * One run of a pipeline: from opening its connectors to a graceful drain or a
 * failure. Recovery creates a fresh run. See docs/design/0001-data-path.md.
 *
 *   source ─read→ [budget] → source processors ─┐
 *   source ─read→ [budget] → source processors ─┼→ fan-in → pipeline processors ─┬→ dest processors → write ─┐
 *                                               ┘                                └→ dest processors → write ─┤
 *   ack ← source FIFO of tickets ← checkpoint (position written) ← ticket complete ←───────────────────────────┘
 *
 * Contract rules enforced here:
 * - Rule 1: a source is acked only for tickets whose every branch (each
 *   destination, each DLQ write) has finished — Ticket.release / SourceNode.drain.
 * - Rule 2: positions are written by the Checkpointer in one store transaction,
 *   before the source hears of the ack, and only ever the newest completed one.
 * - Rule 3: per-source order — each source's tickets complete in FIFO order, and
 *   destinations take batches from their channel in order.
 * - Rule 5: memory is bounded by the pipeline's ByteBudget; channels are bounded.
 */
import { Code } from '../errors/codes.js';
import { ConduitError, fatal, toConduitError } from '../errors/conduit-error.js';
import type { Fields, Logger } from '../log/logger.js';
import { registerSecret } from '../log/redact.js';
import { MetadataKey, OPENCDC_VERSION, nowNanos } from '../opencdc/metadata.js';
import { cloneRecord, type OpenCDCRecord } from '../opencdc/record.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { ConnectorConfig, PipelineConfig, ProcessorConfig } from '../provisioning/types.js';
import {
  POSITION_ONLY_KEY,
  type ConnectorPlugin,
  type Destination,
  type Source,
  type SourceProgress,
} from '../sdk/connector.js';
import { createFormatter } from '../sdk/formats.js';
import { Config, parseConfig, secretValues, type ParamSpecs } from '../sdk/params.js';
import { destinationSpecs, processorSpecs, sourceSpecs } from '../sdk/sdk-params.js';
import type { Store } from '../store/store.js';
import { ByteBudget } from './byte-budget.js';
import { Channel } from './channel.js';
import { DlqHandler } from './dlq.js';
import type { FailedRecordLog, FailureOutcome } from './failed-records.js';
import { createProcessorNode, openNode, runChain, teardownNode, type ProcessorNode } from './processor-chain.js';
import { RateLimiter } from './rate-limiter.js';
import { estimateBatchSize } from './size.js';
import { canonicalJson, StateKey, type StoredConnector, type StoredPosition } from './state-keys.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { ConnectorSeries, RunMetrics } from '../metrics/conduit.js';
import type { Inspector, Tap } from '../inspector/index.js';

export interface RunOptions {
  /** Bytes a pipeline may hold in flight (estimated heap size of records). */
  readonly budgetBytes: number;
  /** Minimum time between two checkpoint writes, in ms. */
  readonly checkpointIntervalMs: number;
  /** Batches a channel holds before its producer waits. */
  readonly channelCapacity: number;
  /** Records a source read returns at most when sdk.batch.size is 0. */
  readonly defaultReadMax: number;
  /** Records a destination write takes at most when sdk.batch.size is 0. */
  readonly defaultWriteMax: number;
  /** Estimated bytes a destination write takes at most (whole batches; at least one). */
  readonly writeMaxBytes: number;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  budgetBytes: 2 * 1024 * 1024,
  checkpointIntervalMs: 50,
  channelCapacity: 16,
  defaultReadMax: 2048,
  defaultWriteMax: 16384,
  writeMaxBytes: 1024 * 1024,
};

export interface RunDeps {
  readonly config: PipelineConfig;
  readonly registry: PluginRegistry;
  readonly store: Store;
  readonly logger: Logger;
  readonly options?: Partial<RunOptions>;
  readonly schemaRegistry?: SchemaRegistry;
  /** Counters and histograms this run updates, once per batch. */
  readonly metrics?: RunMetrics;
  /** The engine's stream inspector: the run feeds its taps (one boolean check per batch when nobody watches). */
  readonly inspector?: Inspector;
  /** Where failed records are noted for the API (the engine's, per pipeline: it outlives the run). */
  readonly failedRecords?: FailedRecordLog;
}

interface Batch {
  readonly records: OpenCDCRecord[];
  readonly ticket: Ticket;
}

/** The acknowledgement state of one source batch. */
class Ticket {
  /** Branches still holding the batch; starts at 1 for the stage that carries it. */
  pending = 1;
  constructor(
    readonly source: SourceNode,
    readonly positions: Uint8Array[],
    readonly bytes: number,
    private readonly onComplete: (t: Ticket) => void,
    /** performance.now() when the batch was read, and the records it carries downstream (for metrics). */
    readonly readAt = 0,
    readonly records = 0,
  ) {}
  hold(n = 1): void {
    this.pending += n;
  }
  release(): void {
    if (--this.pending === 0) this.onComplete(this);
  }
}

interface SourceNode {
  readonly cfg: ConnectorConfig;
  readonly plugin: ConnectorPlugin;
  readonly instance: Source;
  readonly config: Config;
  readonly processors: ProcessorNode[];
  readonly readMax: number;
  readonly batchDelay: number;
  /** Tickets in production order; acked from the head only. */
  readonly tickets: Ticket[];
  ticketHead: number;
  opened: boolean;
  readonly metrics: ConnectorSeries | undefined;
  /** The inspector's tap on this source's output. */
  readonly tap: Tap | undefined;
}

interface DestinationNode {
  readonly cfg: ConnectorConfig;
  readonly plugin: ConnectorPlugin;
  readonly instance: Destination;
  readonly config: Config;
  readonly processors: ProcessorNode[];
  readonly channel: Channel<Batch>;
  readonly writeMax: number;
  readonly batchDelay: number;
  readonly limiter: RateLimiter | undefined;
  opened: boolean;
  readonly metrics: ConnectorSeries | undefined;
  /** The inspector's tap on this destination's input. */
  readonly tap: Tap | undefined;
}

export class PipelineRun {
  readonly id: string;
  private readonly opts: RunOptions;
  private readonly log: Logger;
  private readonly budget: ByteBudget;
  private readonly fanin: Channel<Batch>;
  private readonly readAbort = new AbortController();
  /** Aborted when the run fails or is killed: processors stop waiting on I/O (ProcessorContext.signal). */
  private readonly failAbort = new AbortController();
  private sources: SourceNode[] = [];
  private destinations: DestinationNode[] = [];
  private pipelineProcessors: ProcessorNode[] = [];
  private dlq: DlqHandler | undefined;
  private dlqDestination: { instance: Destination; opened: boolean } | undefined;
  private dlqConfig: { plugin: ConnectorPlugin; config: Config } | undefined;
  /** Processors whose configure is asynchronous; awaited before anything opens. */
  private readonly pendingConfigure: Promise<void>[] = [];
  private readonly checkpointer: Checkpointer;
  private failure: ConduitError | undefined;
  private stopping = false;
  private inFlight = 0;
  private inFlightRecordCount = 0;
  private inFlightZero: (() => void) | undefined;
  /** Which connector or processor each failure came from (see blame). */
  private readonly blamed = new WeakMap<ConduitError, Fields>();
  private resolveDone!: () => void;
  private rejectDone!: (e: ConduitError) => void;
  /** Settles when the run has ended and every connector is torn down. */
  readonly done: Promise<void>;

  constructor(private readonly deps: RunDeps) {
    this.id = deps.config.id;
    this.opts = { ...DEFAULT_RUN_OPTIONS, ...deps.options };
    this.log = deps.logger.with({ pipeline: this.id });
    // Two batches at least: one read and processed while the one before is written.
    this.budget = new ByteBudget(this.opts.budgetBytes, 2);
    this.fanin = new Channel<Batch>(this.opts.channelCapacity);
    this.checkpointer = new Checkpointer(deps.store, this.opts.checkpointIntervalMs, (e) => this.fail(e));
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  }

  /** Builds, configures and opens every connector and processor, then starts the data flow. */
  async start(): Promise<void> {
    try {
      await this.build();
      await this.open();
    } catch (e) {
      const err = toConduitError(e, Code.ConnectorOpenFailed);
      this.failure = err;
      await this.teardown();
      this.rejectDone(err);
      throw err;
    }
    void this.runAll();
  }

  /** Graceful stop: sources stop reading, everything in flight drains and is checkpointed. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.readAbort.abort();
  }

  /** Forced stop: in-flight records are dropped (they are re-read after a restart). */
  kill(reason?: ConduitError): void {
    this.fail(reason ?? fatal(Code.PipelineForceStopped, `pipeline ${this.id} was stopped by force`));
  }

  get failed(): ConduitError | undefined {
    return this.failure;
  }

  /** Records read and not yet acknowledged. */
  get inFlightRecords(): number {
    return this.inFlightRecordCount;
  }

  /** Estimated bytes of the records in flight (what the byte budget holds). */
  get inFlightBytes(): number {
    return this.budget.inUse;
  }

  /**
   * Seconds since the oldest batch still in flight was read, 0 when none is: the head of each
   * source's ticket FIFO is that source's oldest, so this looks at one ticket per source.
   */
  get oldestInFlightSeconds(): number {
    let oldest = Infinity;
    for (const s of this.sources) {
      const head = s.tickets[s.ticketHead];
      if (head !== undefined && head.readAt < oldest) oldest = head.readAt;
    }
    return oldest === Infinity ? 0 : Math.max(0, performance.now() - oldest) / 1000;
  }

  /** Each opened source with what it reports through the optional progress() (cheap, no I/O). */
  sourceProgress(): Array<{ id: string; plugin: string; progress?: SourceProgress }> {
    return this.sources.map((s) => {
      let progress: SourceProgress | undefined;
      try {
        progress = s.opened ? s.instance.progress?.() : undefined;
      } catch (e) {
        this.log.debug('source progress failed', { connector: s.cfg.id, error: e });
      }
      return { id: s.cfg.id, plugin: s.plugin.name, ...(progress !== undefined && { progress }) };
    });
  }

  // ---- building -------------------------------------------------------------------------------

  private async build(): Promise<void> {
    const { config, registry } = this.deps;
    for (const c of config.connectors) {
      const plugin = registry.connector(c.pluginRef || c.plugin);
      if (plugin === undefined) {
        throw fatal(Code.PluginNotFound, `connector ${c.id}: no connector plugin "${c.plugin}"`);
      }
      if (c.type === 'source') this.sources.push(this.buildSource(c, plugin));
      else this.destinations.push(this.buildDestination(c, plugin));
    }
    if (this.sources.length === 0 || this.destinations.length === 0) {
      throw fatal(Code.PipelineInvalid, `pipeline ${this.id} needs at least one source and one destination`);
    }
    this.pipelineProcessors = config.processors.map((p) => this.buildProcessor(p));
    for (const s of this.sources) s.processors.push(...s.cfg.processors.map((p) => this.buildProcessor(p)));
    for (const d of this.destinations) d.processors.push(...d.cfg.processors.map((p) => this.buildProcessor(p)));
    this.buildDlq();
  }

  private configFor(specs: ParamSpecs, settings: Readonly<Record<string, string>>, id: string, plugin: string): Config {
    for (const s of secretValues(specs, settings)) registerSecret(s);
    try {
      return parseConfig(specs, settings, { pathPrefix: `/connectors/${id}/settings`, plugin });
    } catch (e) {
      throw toConduitError(e, Code.ParamValidation);
    }
  }

  private buildSource(c: ConnectorConfig, plugin: ConnectorPlugin): SourceNode {
    if (plugin.source === undefined) {
      throw fatal(Code.PluginTypeUnsupported, `connector ${c.id}: plugin "${c.plugin}" cannot be a source`);
    }
    const config = this.configFor(sourceSpecs(plugin.source.params), c.settings, c.id, c.plugin);
    const size = config.int('sdk.batch.size');
    return {
      cfg: c,
      plugin,
      instance: plugin.source.create(),
      config,
      processors: [],
      readMax: size > 0 ? size : this.opts.defaultReadMax,
      batchDelay: config.duration('sdk.batch.delay'),
      tickets: [],
      ticketHead: 0,
      opened: false,
      metrics: this.deps.metrics?.source(c.id, plugin.name),
      tap: this.deps.inspector?.tap('connector', c.id),
    };
  }

  private buildDestination(c: ConnectorConfig, plugin: ConnectorPlugin): DestinationNode {
    if (plugin.destination === undefined) {
      throw fatal(Code.PluginTypeUnsupported, `connector ${c.id}: plugin "${c.plugin}" cannot be a destination`);
    }
    const config = this.configFor(destinationSpecs(plugin.destination.params), c.settings, c.id, c.plugin);
    const size = config.int('sdk.batch.size');
    const burst = config.int('sdk.rate.burst');
    const rate = config.float('sdk.rate.perSecond');
    let writeMax = size > 0 ? size : this.opts.defaultWriteMax;
    if (burst > 0 && burst < writeMax) writeMax = burst;
    return {
      cfg: c,
      plugin,
      instance: plugin.destination.create(),
      config,
      processors: [],
      channel: new Channel<Batch>(this.opts.channelCapacity),
      writeMax,
      batchDelay: config.duration('sdk.batch.delay'),
      limiter: rate > 0 ? new RateLimiter(rate, burst > 0 ? burst : Math.max(1, Math.ceil(rate))) : undefined,
      opened: false,
      metrics: this.deps.metrics?.destination(c.id, plugin.name),
      tap: this.deps.inspector?.tap('connector', c.id),
    };
  }

  private buildProcessor(p: ProcessorConfig): ProcessorNode {
    const plugin = this.deps.registry.processor(p.pluginRef || p.plugin);
    if (plugin === undefined) {
      throw fatal(Code.ProcessorPluginNotFound, `processor ${p.id}: no processor plugin "${p.plugin}"`);
    }
    const config = this.configFor(processorSpecs(plugin.params), p.settings, p.id, p.plugin);
    // `workers` instances, each configured like the first (processor-chain.ts).
    const { node, configured } = createProcessorNode(p, plugin, config, {
      processorId: p.id,
      pipelineId: this.id,
      logger: this.log.with({ processor: p.id }),
      signal: this.failAbort.signal,
      ...(this.deps.schemaRegistry !== undefined && { schemaRegistry: this.deps.schemaRegistry }),
    });
    if (configured !== undefined) this.pendingConfigure.push(configured);
    const inspector = this.deps.inspector;
    return inspector === undefined ? node : { ...node, taps: inspector.processorTaps(p.id) };
  }

  private buildDlq(): void {
    const cfg = this.deps.config.dlq;
    const usesDlq = cfg.windowSize === 0 || cfg.windowNackThreshold > 0;
    let dest: Destination | undefined;
    if (usesDlq) {
      const plugin = this.deps.registry.connector(cfg.pluginRef || cfg.plugin);
      if (plugin?.destination === undefined) {
        throw fatal(
          Code.PluginNotFound,
          `dead-letter-queue of pipeline ${this.id}: no destination plugin "${cfg.plugin}"`,
        );
      }
      const config = this.configFor(
        destinationSpecs(plugin.destination.params),
        cfg.settings,
        `${this.id}-dlq`,
        cfg.plugin,
      );
      dest = plugin.destination.create();
      this.dlqDestination = { instance: dest, opened: false };
      this.dlqConfig = { plugin, config };
    }
    this.dlq = new DlqHandler(cfg, dest);
  }

  // ---- opening --------------------------------------------------------------------------------

  private async open(): Promise<void> {
    await Promise.all(this.pendingConfigure);
    const store = this.deps.store;
    const stateWrites: Array<{ key: string; value: string }> = [];
    for (const p of this.allProcessors()) await openNode(p);
    for (const d of this.destinations) {
      const ctx = {
        connectorId: d.cfg.id,
        pipelineId: this.id,
        logger: this.log.with({ connector: d.cfg.id }),
        format: createFormatter(d.config.string('sdk.record.format'), d.config.string('sdk.record.format.options')),
      };
      await d.instance.configure(d.config, ctx);
      await this.lifecycle(d.cfg, d.instance, d.config, stateWrites);
      await this.withCode(Code.ConnectorOpenFailed, d.cfg.id, () => d.instance.open());
      d.opened = true;
    }
    if (this.dlqDestination !== undefined && this.dlqConfig !== undefined) {
      const { config } = this.dlqConfig;
      const id = `${this.id}:dlq`;
      await this.dlqDestination.instance.configure(config, {
        connectorId: id,
        pipelineId: this.id,
        logger: this.log.with({ connector: id }),
        format: createFormatter(config.string('sdk.record.format'), config.string('sdk.record.format.options')),
      });
      await this.withCode(
        Code.ConnectorOpenFailed,
        id,
        () => this.dlqDestination?.instance.open() ?? Promise.resolve(),
      );
      this.dlqDestination.opened = true;
    }
    for (const s of this.sources) {
      await s.instance.configure(s.config, {
        connectorId: s.cfg.id,
        pipelineId: this.id,
        logger: this.log.with({ connector: s.cfg.id }),
        ...(this.deps.schemaRegistry !== undefined && { schemaRegistry: this.deps.schemaRegistry }),
      });
      await this.lifecycle(s.cfg, s.instance, s.config, stateWrites);
      const stored = await store.get(StateKey.position(s.cfg.id));
      const position =
        stored === undefined ? null : Buffer.from((JSON.parse(stored) as StoredPosition).position, 'base64');
      await this.withCode(Code.ConnectorOpenFailed, s.cfg.id, () => s.instance.open(position));
      s.opened = true;
      this.log.debug('source opened', { connector: s.cfg.id, position: position?.toString('utf8') ?? null });
    }
    if (stateWrites.length > 0) await store.write(stateWrites);
  }

  /** Calls onCreated the first time a connector runs, onUpdated when its settings changed since. */
  private async lifecycle(
    cfg: ConnectorConfig,
    instance: Source | Destination,
    config: Config,
    writes: Array<{ key: string; value: string }>,
  ): Promise<void> {
    const key = StateKey.connector(cfg.id);
    const raw = await this.deps.store.get(key);
    const before = raw === undefined ? undefined : (JSON.parse(raw) as StoredConnector);
    const settings = { ...config.settings };
    if (before === undefined) {
      await instance.onCreated?.(config);
    } else if (canonicalJson(before.lastActiveSettings) !== canonicalJson(settings)) {
      await instance.onUpdated?.(new Config(config.specs, before.lastActiveSettings), config);
    } else {
      return;
    }
    const stored: StoredConnector = { type: cfg.type, plugin: cfg.plugin, lastActiveSettings: settings };
    writes.push({ key, value: JSON.stringify(stored) });
  }

  private async withCode<T>(code: string, connectorId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ConduitError) throw this.blame(e, connectorId);
      throw this.blame(
        new ConduitError(code, `connector ${connectorId}: ${(e as Error).message ?? String(e)}`, { cause: e }),
        connectorId,
      );
    }
  }

  private allProcessors(): ProcessorNode[] {
    return [
      ...this.pipelineProcessors,
      ...this.sources.flatMap((s) => s.processors),
      ...this.destinations.flatMap((d) => d.processors),
    ];
  }

  // ---- running --------------------------------------------------------------------------------

  private async runAll(): Promise<void> {
    const destinationLoops = this.destinations.map((d) => this.destinationLoop(d));
    const fanout = this.fanoutLoop();
    await Promise.all(this.sources.map((s) => this.sourceLoop(s)));
    this.fanin.close();
    await fanout;
    await Promise.all(destinationLoops);
    if (this.failure === undefined) {
      await this.allTicketsDone();
      await this.checkpointer.drain();
    }
    await this.teardown();
    if (this.failure !== undefined) this.rejectDone(this.failure);
    else this.resolveDone();
  }

  private async sourceLoop(s: SourceNode): Promise<void> {
    const signal = this.readAbort.signal;
    const connectorId = s.cfg.id;
    const pluginName = s.plugin.name;
    const pluginVersion = s.plugin.version;
    try {
      while (!this.stopping && this.failure === undefined) {
        let records: OpenCDCRecord[];
        const readStart = performance.now();
        try {
          records = await s.instance.read(s.readMax, signal);
          if (s.batchDelay > 0 && records.length > 0 && records.length < s.readMax) {
            records = await this.fillBatch(s, records);
          }
        } catch (e) {
          if (signal.aborted && this.failure !== undefined) return;
          throw this.connectorError(e, Code.ConnectorReadFailed, connectorId, 'read');
        }
        if (records.length === 0) continue;
        const readEnd = performance.now();
        const readAt = nowNanos();
        const positions = new Array<Uint8Array>(records.length);
        let positionOnly = 0;
        for (let i = 0; i < records.length; i++) {
          const r = records[i] as OpenCDCRecord;
          positions[i] = r.position;
          const md = r.metadata;
          if (md[POSITION_ONLY_KEY] !== undefined) {
            positionOnly++;
            continue;
          }
          if (md[MetadataKey.ReadAt] === undefined) md[MetadataKey.ReadAt] = readAt;
          if (md[MetadataKey.SourceConnectorId] === undefined) md[MetadataKey.SourceConnectorId] = connectorId;
          if (md[MetadataKey.Version] === undefined) md[MetadataKey.Version] = OPENCDC_VERSION;
          if (md[MetadataKey.SourcePluginName] === undefined) md[MetadataKey.SourcePluginName] = pluginName;
          if (md[MetadataKey.SourcePluginVersion] === undefined) md[MetadataKey.SourcePluginVersion] = pluginVersion;
        }
        // Position-only records are checkpointed and acked with the ticket; nothing downstream sees them.
        if (positionOnly > 0) records = records.filter((r) => r.metadata[POSITION_ONLY_KEY] === undefined);
        if (s.tap?.active === true) s.tap.send(records); // the inspector samples; never waits
        const bytes = estimateBatchSize(records);
        const m = s.metrics;
        if (m !== undefined && records.length > 0) {
          m.records.inc(records.length);
          m.bytes.observeN(bytes / records.length, records.length);
          m.duration.observe((readEnd - readStart) / 1000);
        }
        const wait = this.budget.acquire(bytes);
        if (wait !== undefined) await wait;
        if (this.failure !== undefined) {
          this.budget.release(bytes);
          return;
        }
        const ticket = new Ticket(s, positions, bytes, (t) => this.ticketDone(t), readEnd, records.length);
        this.inFlight++;
        this.inFlightRecordCount += positions.length;
        s.tickets.push(ticket);
        const out = s.processors.length === 0 ? records : await this.chain(s.processors, records, ticket);
        await this.fanin.push({ records: out, ticket });
      }
    } catch (e) {
      this.fail(toConduitError(e));
    }
  }

  /** sdk.batch.delay on a source: keep reading until the batch is full or the delay passed. */
  private async fillBatch(s: SourceNode, first: OpenCDCRecord[]): Promise<OpenCDCRecord[]> {
    const records = first;
    const deadline = AbortSignal.any([this.readAbort.signal, AbortSignal.timeout(s.batchDelay)]);
    while (records.length < s.readMax && !deadline.aborted) {
      const more = await s.instance.read(s.readMax - records.length, deadline);
      for (const r of more) records.push(r);
    }
    return records;
  }

  private async fanoutLoop(): Promise<void> {
    const dests = this.destinations;
    try {
      for (;;) {
        const batch = await this.fanin.pop();
        if (batch === undefined) break;
        const { ticket } = batch;
        let records = batch.records;
        if (this.pipelineProcessors.length > 0 && records.length > 0) {
          records = await this.chain(this.pipelineProcessors, records, ticket);
        }
        if (records.length > 0) {
          ticket.hold(dests.length);
          for (let i = 0; i < dests.length; i++) {
            const d = dests[i] as DestinationNode;
            // A destination with processors may change records: when others share them, it works on a copy.
            const own = d.processors.length > 0 && dests.length > 1 ? records.map(cloneRecord) : records;
            await d.channel.push({ records: own, ticket });
          }
        }
        ticket.release(); // the fan-out stage's hold
      }
    } catch (e) {
      this.fail(toConduitError(e));
    } finally {
      for (const d of dests) d.channel.close();
    }
  }

  private async destinationLoop(d: DestinationNode): Promise<void> {
    // Writes the destination allows outstanding at once (Destination.writesInFlight); each group is processed
    // before the next one is, and the oldest write is awaited before one more starts.
    const limit = Math.max(1, Math.floor(d.instance.writesInFlight ?? 1));
    const writing: Promise<void>[] = [];
    try {
      for (;;) {
        const first = await d.channel.pop();
        if (first === undefined) return;
        const group = [first];
        let count = first.records.length;
        let bytes = first.ticket.bytes;
        while (count < d.writeMax && bytes < this.opts.writeMaxBytes) {
          const next = d.channel.tryPop();
          if (next === undefined) break;
          group.push(next);
          count += next.records.length;
          bytes += next.ticket.bytes;
        }
        if (d.batchDelay > 0 && count < d.writeMax) count = await this.waitForMore(d, group, count);
        const parts = await this.processGroup(d, group);
        const write = this.writeGroup(d, group, parts).catch((e: unknown) => this.fail(toConduitError(e)));
        if (limit === 1) await write;
        else {
          writing.push(write);
          if (writing.length >= limit) await writing.shift();
        }
        if (this.failure !== undefined) return;
      }
    } catch (e) {
      this.fail(toConduitError(e));
    } finally {
      // Writes still outstanding finish (or fail the run) before the destination is torn down.
      for (const w of writing) await w;
    }
  }

  /** sdk.batch.delay on a destination: wait for the batch to fill up, at most the delay. */
  private async waitForMore(d: DestinationNode, group: Batch[], count: number): Promise<number> {
    const deadline = Date.now() + d.batchDelay;
    let n = count;
    while (n < d.writeMax && Date.now() < deadline && this.failure === undefined) {
      const next = await d.channel.popWithin(deadline - Date.now());
      if (next === undefined) break;
      group.push(next);
      n += next.records.length;
    }
    return n;
  }

  /** Runs the destination's processors per batch, so a failed record is charged to its own ticket. */
  private async processGroup(d: DestinationNode, group: Batch[]): Promise<OpenCDCRecord[][]> {
    const parts: OpenCDCRecord[][] = [];
    for (const b of group) {
      parts.push(d.processors.length === 0 ? b.records : await this.chain(d.processors, b.records, b.ticket));
    }
    return parts;
  }

  private async writeGroup(d: DestinationNode, group: Batch[], parts: OpenCDCRecord[][]): Promise<void> {
    const records = parts.length === 1 ? (parts[0] as OpenCDCRecord[]) : parts.flat();
    if (d.tap?.active === true) d.tap.send(records); // the inspector samples; never waits
    if (records.length > 0) {
      let outcomes;
      const writeStart = performance.now();
      for (let off = 0; off < records.length; off += d.writeMax) {
        const slice = off === 0 && records.length <= d.writeMax ? records : records.slice(off, off + d.writeMax);
        if (d.limiter !== undefined) await d.limiter.take(slice.length, this.readAbort.signal);
        let res;
        try {
          res = await d.instance.write(slice);
        } catch (e) {
          throw this.connectorError(e, Code.ConnectorWriteFailed, d.cfg.id, 'write');
        }
        if (res !== undefined)
          (outcomes ??= new Array<Error | undefined>(records.length)).splice(off, res.length, ...res);
      }
      if (d.metrics !== undefined) this.countWritten(d.metrics, group, records.length, outcomes, writeStart);
      if (outcomes !== undefined) this.nackFailed(d, group, parts, outcomes);
    }
    for (const b of group) b.ticket.release();
  }

  /** Records written (not the refused ones), their estimated size and the write duration: once per group. */
  private countWritten(
    m: ConnectorSeries,
    group: Batch[],
    total: number,
    outcomes: (Error | undefined)[] | undefined,
    start: number,
  ): void {
    m.duration.observe((performance.now() - start) / 1000);
    let written = total;
    if (outcomes !== undefined) for (const o of outcomes) if (o !== undefined) written--;
    let bytes = 0;
    let read = 0;
    for (const b of group) {
      bytes += b.ticket.bytes;
      read += b.ticket.records;
    }
    m.records.inc(written);
    if (read > 0) m.bytes.observeN(bytes / read, written);
  }

  private nackFailed(
    d: DestinationNode,
    group: Batch[],
    parts: OpenCDCRecord[][],
    outcomes: (Error | undefined)[],
  ): void {
    let i = 0;
    group.forEach((b, gi) => {
      for (const r of parts[gi] ?? []) {
        const err = outcomes[i++];
        if (err !== undefined) this.nack(r, err, d.cfg.id, b.ticket);
      }
    });
  }

  private chain(nodes: ProcessorNode[], records: OpenCDCRecord[], ticket: Ticket): Promise<OpenCDCRecord[]> {
    return runChain(nodes, records, (r, err, nodeId) => this.nack(r, err, nodeId, ticket));
  }

  /** A failed record: the DLQ takes it (the ticket waits for that) or the pipeline stops. */
  private nack(record: OpenCDCRecord, error: Error, nodeId: string, ticket: Ticket): void {
    const dlq = this.dlq;
    // A destination's plain Error has no code of its own: it failed the write of that record.
    const note = (outcome: FailureOutcome): void =>
      this.deps.failedRecords?.add(record, error, nodeId, outcome, this.failCode(nodeId));
    if (dlq === undefined) {
      note('stopped');
      return this.fail(this.blame(toConduitError(error, Code.RecordNacked), nodeId));
    }
    ticket.hold();
    dlq.nack(record, error, nodeId).then(
      () => {
        note('dlq');
        this.log.warn('record sent to the dead-letter queue', { ...this.componentOf(nodeId), error });
        ticket.release();
      },
      (e: unknown) => {
        note('stopped');
        this.fail(this.blame(toConduitError(e, Code.DlqWriteFailed), nodeId));
      },
    );
  }

  /** The code of a failure whose error carries none: by the kind of node that failed the record. */
  private failCode(nodeId: string): string {
    return this.destinations.some((d) => d.cfg.id === nodeId) ? Code.ConnectorWriteFailed : Code.ProcessorFailed;
  }

  private connectorError(e: unknown, code: string, connectorId: string, what: string): ConduitError {
    if (e instanceof ConduitError) return this.blame(e, connectorId);
    const msg = e instanceof Error ? e.message : String(e);
    return this.blame(
      new ConduitError(code, `connector ${connectorId} failed to ${what}: ${msg}`, { cause: e }),
      connectorId,
    );
  }

  /** Notes which connector or processor an error came from, for the "pipeline failed" log line. */
  private blame(err: ConduitError, nodeId: string): ConduitError {
    if (!this.blamed.has(err)) this.blamed.set(err, this.componentOf(nodeId));
    return err;
  }

  /** The log field naming a node: `connector` for sources and destinations (and the DLQ), else `processor`. */
  private componentOf(nodeId: string): Fields {
    return this.allProcessors().some((p) => p.id === nodeId) ? { processor: nodeId } : { connector: nodeId };
  }

  // ---- acknowledgement ------------------------------------------------------------------------

  private ticketDone(t: Ticket): void {
    this.budget.release(t.bytes);
    const s = t.source;
    // Acks leave each source in production order: only completed tickets at the head go.
    const q = s.tickets;
    while (s.ticketHead < q.length) {
      const head = q[s.ticketHead] as Ticket;
      if (head.pending !== 0) break;
      q[s.ticketHead] = undefined as unknown as Ticket;
      s.ticketHead++;
      this.dlq?.recordAcks(head.positions.length);
      this.checkpointer.add(s, head.positions);
      this.inFlight--;
      this.inFlightRecordCount -= head.positions.length;
      this.deps.metrics?.latency.observeN((performance.now() - head.readAt) / 1000, head.records);
    }
    if (s.ticketHead > 4096 && s.ticketHead * 2 > q.length) {
      q.splice(0, s.ticketHead);
      s.ticketHead = 0;
    }
    if (this.inFlight === 0) this.inFlightZero?.();
  }

  private allTicketsDone(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.inFlightZero = resolve));
  }

  // ---- stopping -------------------------------------------------------------------------------

  private fail(err: ConduitError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.log.error('pipeline failed', { ...this.blamed.get(err), error: err, retryable: err.retryable });
    this.stopping = true;
    this.readAbort.abort();
    this.failAbort.abort();
    this.budget.close(err);
    this.fanin.abort(err);
    for (const d of this.destinations) d.channel.abort(err);
    this.inFlightZero?.();
  }

  private async teardown(): Promise<void> {
    const all: Array<{ id: string; teardown: () => Promise<void> }> = [
      ...this.sources.map((s) => ({ id: s.cfg.id, teardown: () => s.instance.teardown() })),
      ...this.destinations.map((d) => ({ id: d.cfg.id, teardown: () => d.instance.teardown() })),
    ];
    if (this.dlqDestination !== undefined) {
      const dest = this.dlqDestination.instance;
      all.push({ id: `${this.id}:dlq`, teardown: () => dest.teardown() });
    }
    for (const p of this.allProcessors()) all.push({ id: p.id, teardown: () => teardownNode(p) });
    for (const c of all) {
      try {
        await c.teardown();
      } catch (e) {
        this.log.warn('teardown failed', { ...this.componentOf(c.id), error: e });
      }
    }
  }
}

/**
 * Writes the newest completed position of every source in one transaction, then
 * hands the acks to the sources in order. One flush at a time, at most every
 * `intervalMs`, so checkpoints group-commit many batches.
 */
class Checkpointer {
  private pending = new Map<SourceNode, Uint8Array[][]>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly onError: (e: ConduitError) => void,
  ) {}

  add(source: SourceNode, positions: Uint8Array[]): void {
    let list = this.pending.get(source);
    if (list === undefined) this.pending.set(source, (list = []));
    list.push(positions);
    this.schedule();
  }

  /** Flushes everything now and resolves when it is written and acked. */
  async drain(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.flushing !== undefined || this.pending.size > 0) {
      if (this.flushing !== undefined) await this.flushing;
      else await this.flush();
    }
  }

  private schedule(): void {
    if (this.flushing !== undefined || this.timer !== undefined) return;
    const wait = Math.max(0, this.lastFlush + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, wait);
  }

  private flush(): Promise<void> {
    const batch = this.pending;
    if (batch.size === 0) return Promise.resolve();
    this.pending = new Map();
    const run = this.write(batch).then(
      () => {
        this.flushing = undefined;
        this.lastFlush = Date.now();
        if (this.pending.size > 0) this.schedule();
      },
      (e: unknown) => {
        this.flushing = undefined;
        this.onError(toConduitError(e, Code.StoreUnreachable));
      },
    );
    this.flushing = run;
    return run;
  }

  private async write(batch: Map<SourceNode, Uint8Array[][]>): Promise<void> {
    const updatedAt = new Date().toISOString();
    const ops: Array<{ key: string; value: string }> = [];
    for (const [s, lists] of batch) {
      const last = lists[lists.length - 1];
      const position = last?.[last.length - 1];
      if (position === undefined) continue;
      const stored: StoredPosition = { position: Buffer.from(position).toString('base64'), updatedAt };
      ops.push({ key: StateKey.position(s.cfg.id), value: JSON.stringify(stored) });
    }
    // Rule 2: the position is durable before the source is told of the ack.
    await this.store.write(ops);
    for (const [s, lists] of batch) {
      const positions = lists.length === 1 ? (lists[0] as Uint8Array[]) : lists.flat();
      try {
        await s.instance.ack(positions);
      } catch (e) {
        throw e instanceof ConduitError
          ? e
          : new ConduitError(
              Code.ConnectorAckFailed,
              `connector ${s.cfg.id} failed to take acks: ${(e as Error).message}`,
              {
                cause: e,
              },
            );
      }
    }
  }
}
