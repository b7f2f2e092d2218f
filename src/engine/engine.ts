/**
 * The engine service: the pipelines it knows, their status, recovery, and the
 * reconciliation of pipeline files with the store. The CLI (and later the HTTP
 * API) call this layer; no logic lives only in either.
 */
import { Code } from '../errors/codes.js';
import { ConduitError, fatal, isRetryable, toConduitError, ValidationErrors } from '../errors/conduit-error.js';
import type { Logger } from '../log/logger.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { randomUUID } from 'node:crypto';
import { parsePluginRef } from '../plugins/registry.js';
import { LIMITS } from '../provisioning/validate.js';
import type {
  ConnectorConfig,
  ConnectorType,
  DLQConfig,
  PipelineConfig,
  ProcessorConfig,
} from '../provisioning/types.js';
import { DEFAULT_DLQ } from '../provisioning/types.js';
import { Config, validateSettings, type ParamSpecs } from '../sdk/params.js';
import { destinationSpecs, processorSpecs, sourceSpecs } from '../sdk/sdk-params.js';
import { compileCondition } from './processor-chain.js';
import type { Store, WriteOp } from '../store/store.js';
import { delay } from '../sdk/abort.js';
import { RecoveryBackoff } from './backoff.js';
import { PipelineRun, type RunOptions } from './pipeline-run.js';
import { StateKey, type StoredConnector } from './state-keys.js';
import { DEFAULT_RECOVERY, PipelineStatus, STATUS_NUMBER, type PipelineState, type RecoveryConfig } from './types.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { SourceProgress } from '../sdk/connector.js';
import { EngineMetrics, type PipelineView } from '../metrics/conduit.js';
import { Inspector, type InspectorOptions } from '../inspector/index.js';
import { FailedRecords, type FailedRecord } from './failed-records.js';
import { deletedConnectors, diffPipelines, needsRestart, planPipeline, PlanCode, type PipelinePlan } from './plan.js';

export type ProvisionedBy = 'config' | 'api';

interface StoredPipeline {
  readonly config: PipelineConfig;
  readonly provisionedBy: ProvisionedBy;
  readonly state: PipelineState;
  readonly createdAt: string;
  /** When the config last changed (absent in pipelines stored before it was kept). */
  readonly updatedAt?: string;
}

interface Entry {
  config: PipelineConfig;
  provisionedBy: ProvisionedBy;
  state: PipelineState;
  createdAt: string;
  updatedAt: string;
  run: PipelineRun | undefined;
  supervisor: Promise<void> | undefined;
  stopRequest: { reason: 'user' | 'system'; force: boolean } | undefined;
  backoffWait: AbortController | undefined;
  backoff: RecoveryBackoff;
  /** An apply is changing it (stop, change, start): no other edit or start meanwhile. */
  busy: boolean;
}

export interface PipelineInfo {
  readonly id: string;
  readonly config: PipelineConfig;
  readonly provisionedBy: ProvisionedBy;
  readonly state: PipelineState;
  readonly createdAt: string;
  /** When the config last changed. */
  readonly updatedAt: string;
}

/** A connector of a pipeline, as the API shows it. */
export interface ConnectorInfo {
  readonly pipelineId: string;
  readonly config: ConnectorConfig;
  readonly provisionedBy: ProvisionedBy;
  /** The pipeline's timestamps: connectors are stored inside their pipeline. */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What a processor hangs off: a pipeline (runs on every record) or a connector. */
export interface ProcessorParent {
  readonly type: 'pipeline' | 'connector';
  readonly id: string;
}

export interface ProcessorInfo {
  readonly pipelineId: string;
  readonly parent: ProcessorParent;
  readonly config: ProcessorConfig;
  readonly provisionedBy: ProvisionedBy;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * Codes of the engine's editing operations (the API's create/update/delete).
 * To be registered in src/errors/codes.ts; until then the API maps them by name.
 */
/** The codes of refused edits (registered in errors/codes.ts). */
export const EditCode = {
  ProvisionedByConfig: Code.PipelineProvisionedByConfig,
  NameExists: Code.PipelineNameExists,
  HasConnectors: Code.PipelineHasConnectors,
  HasProcessors: Code.PipelineHasProcessors,
  ConnectorNotFound: Code.ConnectorNotFound,
  ConnectorHasProcessors: Code.ConnectorHasProcessors,
  ProcessorNotFound: Code.ProcessorNotFound,
} as const;

export interface ConnectorInput {
  readonly type: ConnectorType;
  readonly plugin: string;
  readonly name: string;
  readonly settings: Readonly<Record<string, string>>;
}

export interface ProcessorInput {
  readonly plugin: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly workers: number;
  readonly condition: string;
}

export interface EngineOptions {
  readonly store: Store;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  readonly recovery?: RecoveryConfig;
  readonly run?: Partial<RunOptions>;
  /** How long a forced stop may take before shutdown gives up waiting for it (default 5 s). */
  readonly forceStopGraceMs?: number;
  /** Handed to every processor (avro.encode, avro.decode) and source (postgres logrepl.withAvroSchema); see schema/index.ts openSchemaRegistry. */
  readonly schemaRegistry?: SchemaRegistry;
  /** Bounds of the stream inspector's sessions (src/inspector/). */
  readonly inspector?: Partial<InspectorOptions>;
}

export interface ProvisionResult {
  readonly created: string[];
  readonly updated: string[];
  readonly deleted: string[];
  readonly errors: ConduitError[];
}

export type StatusListener = (id: string, state: PipelineState) => void;

export class Engine {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: StatusListener[] = [];
  private readonly recovery: RecoveryConfig;
  private readonly log: Logger;
  /** The engine's metrics (GET /metrics renders them). */
  readonly metrics: EngineMetrics;
  /** The stream inspector's taps: they outlive pipeline runs, so sessions survive restarts. */
  readonly inspector: Inspector;
  /** The last failed records of each pipeline (in memory; they outlive runs, not the process). */
  private readonly failed = new FailedRecords();
  /** Applies and imports, one at a time. */
  private reconciling: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: EngineOptions) {
    this.recovery = opts.recovery ?? DEFAULT_RECOVERY;
    this.log = opts.logger;
    this.metrics = new EngineMetrics(() => this.metricsView());
    this.inspector = new Inspector(opts.inspector, this.metrics.inspector());
  }

  /** What the metrics read at scrape time: every pipeline, its status, and its run when it has one. */
  private *metricsView(): Iterable<PipelineView> {
    for (const e of this.entries.values()) {
      const run = e.run;
      yield {
        name: metricsName(e.config),
        status: e.state.status,
        statusNumber: STATUS_NUMBER[e.state.status],
        connectors: e.config.connectors,
        processors: [...e.config.processors, ...e.config.connectors.flatMap((c) => c.processors)],
        ...(run !== undefined && {
          run: {
            inFlightRecords: run.inFlightRecords,
            inFlightBytes: run.inFlightBytes,
            oldestInFlightSeconds: run.oldestInFlightSeconds,
            sources: run.sourceProgress(),
          },
        }),
      };
    }
  }

  /** Loads the pipelines the store knows. */
  async init(): Promise<void> {
    for (const [, raw] of await this.opts.store.list(StateKey.pipelinePrefix)) {
      const p = JSON.parse(raw) as StoredPipeline;
      const e = this.newEntry(p.config, p.provisionedBy, p.state, p.createdAt);
      e.updatedAt = p.updatedAt ?? p.createdAt;
      this.entries.set(p.config.id, e);
    }
  }

  /** Calls the listener on every status change; returns a function that removes it. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Starts a pipeline and resolves with its state once its run started (running), or failed
   * to (recovering, degraded), or after `timeoutMs` with the state it then has.
   */
  async startAndWait(id: string, timeoutMs: number): Promise<PipelineState> {
    let timer: NodeJS.Timeout | undefined;
    let off: () => void = () => undefined;
    const changed = new Promise<void>((resolve) => {
      off = this.onStatus((pid) => {
        if (pid === id) resolve();
      });
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      this.start(id);
      await changed;
    } finally {
      off();
      clearTimeout(timer);
    }
    return this.mustGet(id).state;
  }

  list(): PipelineInfo[] {
    return [...this.entries.values()].map(info).sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): PipelineInfo | undefined {
    const e = this.entries.get(id);
    return e === undefined ? undefined : info(e);
  }

  /**
   * The pipeline's last failed records, newest first (at most `limit`): those the DLQ took
   * and those that stopped the pipeline. `total` counts every failure since the engine started.
   */
  failedRecords(id: string, limit?: number): { records: FailedRecord[]; total: number; kept: number } {
    this.mustGet(id);
    const log = this.failed.for(id);
    return { records: log.list(limit), total: log.total, kept: log.kept };
  }

  /**
   * What each source of the pipeline's current run reports through `progress()` (cheap, no I/O);
   * empty when the pipeline is not running. Only sources that report something are listed.
   */
  sourceProgress(id: string): Array<{ id: string; plugin: string; progress: SourceProgress }> {
    const run = this.entries.get(id)?.run;
    if (run === undefined) return [];
    return run.sourceProgress().filter((s): s is typeof s & { progress: SourceProgress } => s.progress !== undefined);
  }

  /**
   * Reconciles pipelines from files with the store: new ones are created,
   * changed ones updated in place (a source keeps its position unless its ID or
   * type changed), and file pipelines no longer in any file are deleted.
   */
  async provision(pipelines: readonly PipelineConfig[]): Promise<ProvisionResult> {
    const result: ProvisionResult = { created: [], updated: [], deleted: [], errors: [] };
    const wanted = new Map(pipelines.map((p) => [p.id, p]));
    for (const e of [...this.entries.values()]) {
      if (e.provisionedBy === 'config' && !wanted.has(e.config.id)) {
        await this.delete(e.config.id);
        result.deleted.push(e.config.id);
      }
    }
    for (const p of pipelines) {
      const e = this.entries.get(p.id);
      if (e !== undefined && e.provisionedBy === 'api') {
        result.errors.push(
          new ConduitError(
            Code.ConfigIdDuplicate,
            `pipeline ${p.id} exists already and was not created from a file; the file's pipeline is skipped`,
            {
              file: p.origin?.file,
              line: p.origin?.line,
              suggestion: 'rename the pipeline in the file, or delete the existing one through the API',
            },
          ),
        );
        continue;
      }
      if (e === undefined) {
        const entry = this.newEntry(p, 'config', this.state(PipelineStatus.UserStopped), new Date().toISOString());
        this.entries.set(p.id, entry);
        await this.save(entry);
        result.created.push(p.id);
        continue;
      }
      const changes = diffPipelines(e.config, p);
      if (changes.length === 0) {
        // Only where it sits in its file (or the order of keys) changed: keep it for messages, restart nothing.
        if (JSON.stringify(e.config) !== JSON.stringify(p)) {
          e.config = p;
          e.updatedAt = new Date().toISOString();
          await this.save(e);
        }
        continue;
      }
      // Also a pipeline waiting in its recovery backoff (no run, but a supervisor) is stopped.
      if (e.supervisor !== undefined) await this.stop(p.id, { reason: 'system' });
      await this.forgetConnectors(deletedConnectors(e.config, changes));
      e.config = p;
      e.updatedAt = new Date().toISOString();
      await this.save(e);
      result.updated.push(p.id);
    }
    return result;
  }

  /** Starts what should run: file pipelines with status running, and those the engine stopped at shutdown. */
  async startDesired(): Promise<void> {
    for (const e of this.entries.values()) {
      const wanted =
        e.provisionedBy === 'config'
          ? e.config.status === 'running'
          : e.state.status === PipelineStatus.SystemStopped || e.state.status === PipelineStatus.Running;
      if (wanted && e.supervisor === undefined) this.launch(e);
    }
  }

  /** Starts a pipeline (also a degraded one: that is how it is repaired). */
  start(id: string): void {
    const e = this.mustGet(id);
    if (e.supervisor !== undefined || e.busy) {
      throw new ConduitError(Code.PipelineRunning, `pipeline ${id} is already running`, {
        suggestion: 'stop it first',
      });
    }
    const types = new Set(e.config.connectors.map((c) => c.type));
    if (!types.has('source') || !types.has('destination')) {
      throw new ConduitError(Code.PipelineInvalid, `pipeline ${id} needs at least one source and one destination`, {
        suggestion: `add ${types.has('source') ? 'a destination' : 'a source'} connector first`,
      });
    }
    this.launch(e);
  }

  /** Stops a pipeline: gracefully (drain and checkpoint) unless force. Resolves when it has stopped. */
  async stop(id: string, opts: { force?: boolean; reason?: 'user' | 'system' } = {}): Promise<void> {
    const e = this.mustGet(id);
    const sup = e.supervisor;
    if (sup === undefined) {
      throw new ConduitError(Code.PipelineNotRunning, `pipeline ${id} is not running`, {
        suggestion: 'start it first',
      });
    }
    e.stopRequest = { reason: opts.reason ?? 'user', force: opts.force === true };
    e.backoffWait?.abort();
    if (opts.force === true) e.run?.kill();
    else e.run?.stop();
    await sup;
  }

  /**
   * Stops every running pipeline gracefully; after `timeoutMs` the ones still
   * draining are stopped by force. Their status becomes system-stopped, so the
   * next start resumes them.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    const running = [...this.entries.values()].filter((e) => e.supervisor !== undefined);
    const stops = running.map((e) => this.stop(e.config.id, { reason: 'system' }).catch(() => undefined));
    if (await settleWithin(stops, timeoutMs)) {
      for (const e of running) {
        if (e.supervisor !== undefined) {
          this.log.warn('drain timed out, stopping by force', { pipeline: e.config.id });
          e.run?.kill(fatal(Code.PipelineForceStopped, `pipeline ${e.config.id} did not drain within ${timeoutMs} ms`));
        }
      }
      // A connector stuck in a call that ignores its abort signal (a hung mount, a FIFO) must not
      // hold the process: give the forced stop a grace period, then report and go on.
      const stuck = await settleWithin(
        running.map((e) => e.supervisor ?? Promise.resolve()),
        this.opts.forceStopGraceMs ?? FORCE_STOP_GRACE_MS,
      );
      if (stuck)
        this.log.error('a pipeline did not stop after a forced stop; leaving it behind', {
          timeoutMs: this.opts.forceStopGraceMs ?? FORCE_STOP_GRACE_MS,
        });
    }
  }

  /** Deletes a pipeline, its connectors' state and positions, calling each connector's onDeleted hook. */
  async delete(id: string): Promise<void> {
    const e = this.mustGet(id);
    if (e.supervisor !== undefined) await this.stop(id, { reason: 'system' });
    for (const c of e.config.connectors) await this.connectorDeleted(c);
    const ops: WriteOp[] = [{ key: StateKey.pipeline(id), value: null }];
    for (const c of e.config.connectors) {
      ops.push({ key: StateKey.position(c.id), value: null }, { key: StateKey.connector(c.id), value: null });
    }
    await this.opts.store.write(ops);
    this.entries.delete(id);
    this.metrics.forgetPipeline(metricsName(e.config));
    this.failed.forget(id);
  }

  // ---- whole pipelines: plan, apply, import ---------------------------------------------------
  //
  // The same diff as pipeline files at start-up (plan.ts). A plan is read-only; an apply runs only
  // when the caller presents the current plan's hash, so a plan taken before another change is
  // refused, never partly applied. Applies and imports run one at a time.

  /**
   * The changes that would turn the stored pipeline (if any) into `desired`, and the plan's hash.
   * For an existing pipeline the desired `status` is ignored: it only says whether a new one starts.
   */
  planPipeline(desired: PipelineConfig): PipelinePlan {
    const e = this.entries.get(desired.id);
    return planPipeline(e?.config, desiredFor(e, desired));
  }

  /**
   * Applies the plan for `desired` if `hash` is the current plan's. A new pipeline is created (and
   * started when its status is running); a stopped one is changed; a running one is changed in place
   * when every change is in place, otherwise (only with `allowLiveRestart`) drained, changed and
   * started again: its sources resume from their checkpoints. Pipelines from files are refused.
   */
  applyPipeline(desired: PipelineConfig, opts: { hash: string; allowLiveRestart: boolean }): Promise<PipelinePlan> {
    return this.serialized(() => this.reconcileOne(desired, { ...opts, mode: 'apply' }));
  }

  /**
   * Creates the pipeline from a full config, or reconciles the existing one with that ID (no hash).
   * A running pipeline is changed only in place; a change that needs a restart is refused.
   */
  async importPipeline(desired: PipelineConfig): Promise<PipelineInfo> {
    await this.serialized(() => this.reconcileOne(desired, { allowLiveRestart: false, mode: 'import' }));
    return info(this.mustGet(desired.id));
  }

  private serialized<T>(f: () => Promise<T>): Promise<T> {
    const next = this.reconciling.then(f);
    this.reconciling = next.catch(() => undefined);
    return next;
  }

  private async reconcileOne(
    desired: PipelineConfig,
    opts: { hash?: string; allowLiveRestart: boolean; mode: 'apply' | 'import' },
  ): Promise<PipelinePlan> {
    const id = desired.id;
    const e = this.entries.get(id);
    if (e?.provisionedBy === 'config') {
      throw new ConduitError(
        EditCode.ProvisionedByConfig,
        `pipeline ${id} comes from a pipeline file and cannot be changed through the API`,
        { file: e.config.origin?.file, suggestion: 'edit the pipeline file and restart conduit' },
      );
    }
    const want = desiredFor(e, desired);
    const plan = planPipeline(e?.config, want);
    if (opts.hash !== undefined && opts.hash !== plan.hash) {
      throw new ConduitError(PlanCode.PlanStale, `the plan for pipeline ${id} changed since it was taken`, {
        configPath: '/hash',
        suggestion: 'plan again, review the changes, and apply with the new hash',
      });
    }
    this.checkPipelineFields(want, id);
    if (plan.changes.length === 0) return plan;
    const now = new Date().toISOString();
    if (e === undefined) {
      const entry = this.newEntry(want, 'api', this.state(PipelineStatus.UserStopped), now);
      this.entries.set(id, entry);
      await this.save(entry);
      if (desired.status === 'running') this.start(id);
      return plan;
    }
    if (e.busy) {
      throw new ConduitError(Code.PipelineRunning, `pipeline ${id} is being changed`, {
        suggestion: 'try again when the change in progress is done',
      });
    }
    const types = new Set(want.connectors.map((c) => c.type));
    if (e.supervisor !== undefined && (!types.has('source') || !types.has('destination'))) {
      throw new ConduitError(Code.PipelineInvalid, `pipeline ${id} is running and the new config cannot run`, {
        configPath: '/connectors',
        suggestion: 'keep at least one source and one destination, or stop the pipeline first',
      });
    }
    const restart = e.supervisor !== undefined && needsRestart(plan.changes);
    if (restart && !opts.allowLiveRestart) {
      const what = plan.changes.filter((c) => c.effect === 'restart').flatMap((c) => c.configPaths);
      throw opts.mode === 'import'
        ? new ConduitError(Code.PipelineRunning, `pipeline ${id} is running and the change needs a restart`, {
            configPath: what[0],
            suggestion: 'stop the pipeline, import it, then start it again',
          })
        : new ConduitError(
            PlanCode.RestartNotAllowed,
            `pipeline ${id} is running and the plan has changes that need a restart (${what.join(', ')})`,
            {
              configPath: what[0],
              suggestion:
                'stop the pipeline and apply again, or start the engine with --api.allow-live-restart-apply to drain, apply and restart it',
            },
          );
    }
    e.busy = true;
    try {
      if (restart && e.supervisor !== undefined) await this.stop(id, { reason: 'system' });
      const before = e.config;
      e.config = want;
      e.updatedAt = now;
      await this.forgetConnectors(deletedConnectors(before, plan.changes));
      await this.save(e);
    } finally {
      e.busy = false;
    }
    if (restart) {
      this.launch(e);
      this.log.info('pipeline restarted with a new config', { pipeline: id });
    }
    return plan;
  }

  // ---- editing (the API's create, update and delete) ------------------------------------------
  //
  // Pipelines from files are read-only here, and a running (or recovering) pipeline cannot be
  // edited: stop it first, as in Conduit. Each edit replaces the pipeline's config and stores it
  // in one write; a connector that goes also loses its position and stored state. Config paths in
  // errors point into Conduit's API messages (`/config/name`, `/config/settings/<key>`, `/plugin`).

  /** Creates an empty, stopped pipeline; its ID is generated. */
  async createPipeline(input: { name: string; description: string }): Promise<PipelineInfo> {
    this.checkPipelineFields(input, undefined);
    const id = randomUUID();
    const config: PipelineConfig = {
      id,
      status: 'stopped',
      name: input.name,
      description: input.description,
      connectors: [],
      processors: [],
      dlq: DEFAULT_DLQ,
      origin: {},
    };
    const e = this.newEntry(config, 'api', this.state(PipelineStatus.UserStopped), new Date().toISOString());
    this.entries.set(id, e);
    await this.save(e);
    return info(e);
  }

  /** Changes a pipeline's name and description. */
  async updatePipeline(id: string, input: { name: string; description: string }): Promise<PipelineInfo> {
    this.checkPipelineFields(input, id);
    return info(await this.edit(id, (c) => ({ ...c, name: input.name, description: input.description })));
  }

  /** Deletes an API pipeline that has no connectors or processors left (Conduit's rule). */
  async deletePipeline(id: string): Promise<void> {
    const e = this.editable(id);
    if (e.config.connectors.length > 0) {
      throw new ConduitError(EditCode.HasConnectors, `pipeline ${id} still has connectors`, {
        suggestion: 'delete its connectors first',
      });
    }
    if (e.config.processors.length > 0) {
      throw new ConduitError(EditCode.HasProcessors, `pipeline ${id} still has processors`, {
        suggestion: 'delete its processors first',
      });
    }
    await this.delete(id);
  }

  /** Replaces a pipeline's dead-letter queue. */
  async updateDLQ(id: string, dlq: Omit<DLQConfig, 'plugin'>): Promise<PipelineInfo> {
    const e = this.editable(id);
    const { name } = this.connectorSpecs('destination', dlq.pluginRef, '/plugin');
    this.checkSettings('destination', dlq.pluginRef, dlq.settings, '/settings');
    for (const [key, v] of [
      ['windowSize', dlq.windowSize],
      ['windowNackThreshold', dlq.windowNackThreshold],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new ConduitError(Code.ConfigFieldInvalid, `${key} must be a whole number, 0 or more`, {
          configPath: `/${key}`,
          suggestion: 'use a number such as 1',
        });
      }
    }
    return info(await this.edit(e.config.id, (c) => ({ ...c, dlq: { ...dlq, plugin: name } })));
  }

  /** Every connector of every pipeline, or of one pipeline. */
  connectors(pipelineId?: string): ConnectorInfo[] {
    const out: ConnectorInfo[] = [];
    for (const p of this.list()) {
      if (pipelineId !== undefined && p.id !== pipelineId) continue;
      for (const c of p.config.connectors) out.push(connectorInfo(p, c));
    }
    return out;
  }

  connector(id: string): ConnectorInfo | undefined {
    const e = this.entryOfConnector(id);
    const c = e?.config.connectors.find((x) => x.id === id);
    return e === undefined || c === undefined ? undefined : connectorInfo(info(e), c);
  }

  /** The base64 position a source last checkpointed, if any. */
  async sourcePosition(connectorId: string): Promise<string | undefined> {
    const raw = await this.opts.store.get(StateKey.position(connectorId));
    return raw === undefined ? undefined : (JSON.parse(raw) as { position: string }).position;
  }

  /** Checks a connector's plugin and settings without creating it; throws every problem. */
  validateConnector(type: ConnectorType, plugin: string, settings: Readonly<Record<string, string>>): void {
    this.checkSettings(type, plugin, settings, '/config/settings');
  }

  /** Adds a connector to a stopped API pipeline; its ID is `<pipelineID>:<generated>`. */
  async createConnector(pipelineId: string, input: ConnectorInput): Promise<ConnectorInfo> {
    this.editable(pipelineId);
    this.checkConnectorName(input.name);
    this.checkSettings(input.type, input.plugin, input.settings, '/config/settings');
    const c: ConnectorConfig = {
      id: `${pipelineId}:${randomUUID()}`,
      type: input.type,
      plugin: parsePluginRef(input.plugin).name,
      pluginRef: input.plugin,
      name: input.name,
      settings: { ...input.settings },
      processors: [],
    };
    const e = await this.edit(pipelineId, (p) => ({ ...p, connectors: [...p.connectors, c] }));
    return connectorInfo(info(e), c);
  }

  /** Changes a connector's name and settings, and optionally its plugin; its type stays (Conduit's rule). */
  async updateConnector(
    id: string,
    input: { name: string; settings: Readonly<Record<string, string>>; plugin?: string },
  ): Promise<ConnectorInfo> {
    const { e, c } = this.mustGetConnector(id);
    this.editable(e.config.id);
    this.checkConnectorName(input.name);
    const pluginRef = input.plugin === undefined || input.plugin === '' ? c.pluginRef : input.plugin;
    this.checkSettings(c.type, pluginRef, input.settings, '/config/settings');
    const next: ConnectorConfig = {
      ...c,
      plugin: parsePluginRef(pluginRef).name,
      pluginRef,
      name: input.name,
      settings: { ...input.settings },
    };
    const after = await this.edit(e.config.id, (p) => ({
      ...p,
      connectors: p.connectors.map((x) => (x.id === id ? next : x)),
    }));
    return connectorInfo(info(after), next);
  }

  /** Deletes a connector with no processors; its position and state go, and its onDeleted hook runs. */
  async deleteConnector(id: string): Promise<void> {
    const { e, c } = this.mustGetConnector(id);
    this.editable(e.config.id);
    if (c.processors.length > 0) {
      throw new ConduitError(EditCode.ConnectorHasProcessors, `connector ${id} still has processors`, {
        suggestion: 'delete its processors first',
      });
    }
    await this.edit(e.config.id, (p) => ({ ...p, connectors: p.connectors.filter((x) => x.id !== id) }));
    await this.connectorDeleted(c);
    await this.opts.store.write([
      { key: StateKey.position(id), value: null },
      { key: StateKey.connector(id), value: null },
    ]);
  }

  /** Every processor, or those of the given parents (pipeline or connector IDs). */
  processors(parentIds?: readonly string[]): ProcessorInfo[] {
    const wanted = parentIds === undefined || parentIds.length === 0 ? undefined : new Set(parentIds);
    return this.list()
      .flatMap((p) => allProcessors(p))
      .filter((x) => wanted === undefined || wanted.has(x.parent.id));
  }

  processor(id: string): ProcessorInfo | undefined {
    for (const p of this.list()) {
      const found = allProcessors(p).find((x) => x.config.id === id);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Adds a processor to a pipeline or connector of a stopped API pipeline; its ID is `<parentID>:<generated>`. */
  async createProcessor(parent: ProcessorParent, input: ProcessorInput): Promise<ProcessorInfo> {
    const pipelineId = parent.type === 'pipeline' ? parent.id : this.entryOfConnector(parent.id)?.config.id;
    if (pipelineId === undefined || (parent.type === 'pipeline' && !this.entries.has(parent.id))) {
      const what = parent.type === 'pipeline' ? 'pipeline' : 'connector';
      throw new ConduitError(
        parent.type === 'pipeline' ? Code.PipelineNotFound : EditCode.ConnectorNotFound,
        `no ${what} with ID "${parent.id}"`,
        { configPath: '/parent/id', suggestion: `check the ${what} ID` },
      );
    }
    this.editable(pipelineId);
    const id = `${parent.id}:${randomUUID()}`;
    const proc = this.processorConfig(id, input);
    const e = await this.edit(pipelineId, (p) =>
      parent.type === 'pipeline'
        ? { ...p, processors: [...p.processors, proc] }
        : {
            ...p,
            connectors: p.connectors.map((c) =>
              c.id === parent.id ? { ...c, processors: [...c.processors, proc] } : c,
            ),
          },
    );
    return { pipelineId, parent, config: proc, ...timestamps(e) };
  }

  /** Changes a processor's settings and workers, and optionally its plugin; condition and parent stay. */
  async updateProcessor(
    id: string,
    input: { plugin?: string; settings: Readonly<Record<string, string>>; workers: number },
  ): Promise<ProcessorInfo> {
    const found = this.mustGetProcessor(id);
    this.editable(found.pipelineId);
    const plugin = input.plugin === undefined || input.plugin === '' ? found.config.pluginRef : input.plugin;
    const next = this.processorConfig(id, { ...input, plugin, condition: found.config.condition });
    const e = await this.edit(found.pipelineId, (p) => replaceProcessor(p, id, () => next));
    return { ...found, config: next, ...timestamps(e) };
  }

  async deleteProcessor(id: string): Promise<void> {
    const found = this.mustGetProcessor(id);
    this.editable(found.pipelineId);
    await this.edit(found.pipelineId, (p) => replaceProcessor(p, id, () => undefined));
  }

  private processorConfig(id: string, input: ProcessorInput): ProcessorConfig {
    const plugin = this.opts.registry.processor(input.plugin);
    if (plugin === undefined || input.plugin.trim() === '') {
      throw new ConduitError(Code.ProcessorPluginNotFound, `processor plugin "${input.plugin}" is not known`, {
        configPath: '/plugin',
        suggestion: `use one of: ${this.opts.registry
          .processors()
          .map((p) => p.name)
          .join(', ')}`,
      });
    }
    const name = parsePluginRef(input.plugin).name;
    throwAll(
      validateSettings(processorSpecs(plugin.params), input.settings, { pathPrefix: '/config/settings', plugin: name })
        .errors,
    );
    if (!Number.isSafeInteger(input.workers) || input.workers < 0) {
      throw new ConduitError(Code.ConfigFieldInvalid, 'workers must be a whole number, 0 or more', {
        configPath: '/config/workers',
        suggestion: 'use 1 (0 means 1)',
      });
    }
    try {
      compileCondition(input.condition, id);
    } catch (err) {
      throw new ConduitError(Code.ConfigFieldInvalid, `the condition is not a valid template: ${errorText(err)}`, {
        configPath: '/condition',
        suggestion: 'write a Go template that prints true or false, e.g. {{ eq .Metadata.kind "a" }}',
      });
    }
    return {
      id,
      plugin: name,
      pluginRef: input.plugin,
      condition: input.condition,
      settings: { ...input.settings },
      workers: input.workers === 0 ? 1 : input.workers,
    };
  }

  /** The pipeline, if the API may change it: made through the API, and not running. */
  private editable(id: string): Entry {
    const e = this.mustGet(id);
    if (e.provisionedBy === 'config') {
      throw new ConduitError(
        EditCode.ProvisionedByConfig,
        `pipeline ${id} comes from a pipeline file and cannot be changed through the API`,
        { file: e.config.origin?.file, suggestion: 'edit the pipeline file and restart conduit' },
      );
    }
    if (e.supervisor !== undefined || e.busy) {
      throw new ConduitError(Code.PipelineRunning, `pipeline ${id} is running; stop it before changing it`, {
        suggestion: 'stop the pipeline, change it, then start it again',
      });
    }
    return e;
  }

  /** Applies a change to an editable pipeline's config and stores it. */
  private async edit(id: string, change: (c: PipelineConfig) => PipelineConfig): Promise<Entry> {
    const e = this.editable(id);
    e.config = change(e.config);
    e.updatedAt = new Date().toISOString();
    await this.save(e);
    return e;
  }

  private checkPipelineFields(input: { name: string; description: string }, self: string | undefined): void {
    if (input.name.trim() === '') {
      throw new ConduitError(Code.ConfigFieldRequired, 'a pipeline needs a name', {
        configPath: '/config/name',
        suggestion: 'set config.name',
      });
    }
    if (input.name.length > LIMITS.pipelineName) {
      throw new ConduitError(Code.ConfigFieldTooLong, `the name is longer than ${LIMITS.pipelineName} characters`, {
        configPath: '/config/name',
        suggestion: `shorten it to ${LIMITS.pipelineName} characters or fewer`,
      });
    }
    if (input.description.length > LIMITS.pipelineDescription) {
      throw new ConduitError(
        Code.ConfigFieldTooLong,
        `the description is longer than ${LIMITS.pipelineDescription} characters`,
        { configPath: '/config/description', suggestion: 'shorten it' },
      );
    }
    for (const e of this.entries.values()) {
      if (e.config.id !== self && e.config.name === input.name) {
        throw new ConduitError(EditCode.NameExists, `a pipeline named "${input.name}" exists already`, {
          configPath: '/config/name',
          suggestion: 'choose another name',
        });
      }
    }
  }

  private checkConnectorName(name: string): void {
    if (name.length > LIMITS.connectorName) {
      throw new ConduitError(Code.ConfigFieldTooLong, `the name is longer than ${LIMITS.connectorName} characters`, {
        configPath: '/config/name',
        suggestion: `shorten it to ${LIMITS.connectorName} characters or fewer`,
      });
    }
  }

  private connectorSpecs(type: ConnectorType, ref: string, at: string): { specs: ParamSpecs; name: string } {
    const plugin = ref.trim() === '' ? undefined : this.opts.registry.connector(ref);
    const name = parsePluginRef(ref).name;
    if (plugin === undefined) {
      throw new ConduitError(Code.PluginNotFound, `connector plugin "${ref}" is not known`, {
        configPath: at,
        suggestion: `use one of: ${this.opts.registry
          .connectors()
          .map((p) => p.name)
          .join(', ')}`,
      });
    }
    const side = type === 'source' ? plugin.source : plugin.destination;
    if (side === undefined) {
      throw new ConduitError(Code.PluginTypeUnsupported, `plugin "${name}" cannot be used as a ${type}`, {
        configPath: at,
        suggestion: `pick a plugin that has a ${type}`,
      });
    }
    return { specs: type === 'source' ? sourceSpecs(side.params) : destinationSpecs(side.params), name };
  }

  private checkSettings(
    type: ConnectorType,
    ref: string,
    settings: Readonly<Record<string, string>>,
    at: string,
  ): void {
    const { specs, name } = this.connectorSpecs(type, ref, '/plugin');
    throwAll(validateSettings(specs, settings, { pathPrefix: at, plugin: name }).errors);
  }

  private entryOfConnector(id: string): Entry | undefined {
    for (const e of this.entries.values()) if (e.config.connectors.some((c) => c.id === id)) return e;
    return undefined;
  }

  private mustGetConnector(id: string): { e: Entry; c: ConnectorConfig } {
    const e = this.entryOfConnector(id);
    const c = e?.config.connectors.find((x) => x.id === id);
    if (e === undefined || c === undefined) {
      throw new ConduitError(EditCode.ConnectorNotFound, `no connector with ID "${id}"`, {
        suggestion: 'list the connectors to see their IDs',
      });
    }
    return { e, c };
  }

  private mustGetProcessor(id: string): ProcessorInfo {
    const p = this.processor(id);
    if (p === undefined) {
      throw new ConduitError(EditCode.ProcessorNotFound, `no processor with ID "${id}"`, {
        suggestion: 'list the processors to see their IDs',
      });
    }
    return p;
  }

  // ---- supervision ----------------------------------------------------------------------------

  private launch(e: Entry): void {
    e.stopRequest = undefined;
    e.backoff.reset();
    e.supervisor = this.supervise(e).finally(() => {
      e.supervisor = undefined;
      e.run = undefined;
    });
  }

  /** Runs the pipeline, restarting it with backoff after retryable failures. */
  private async supervise(e: Entry): Promise<void> {
    const id = e.config.id;
    for (;;) {
      const run = new PipelineRun({
        config: e.config,
        registry: this.opts.registry,
        store: this.opts.store,
        logger: this.log,
        options: this.opts.run,
        ...(this.opts.schemaRegistry !== undefined && { schemaRegistry: this.opts.schemaRegistry }),
        metrics: this.metrics.forRun(metricsName(e.config)),
        inspector: this.inspector,
        failedRecords: this.failed.for(id),
      });
      e.run = run;
      let error: ConduitError | undefined;
      try {
        await run.start();
        await this.setState(e, this.state(PipelineStatus.Running));
        this.log.info('pipeline running', { pipeline: id });
        // A stop requested while the run was starting takes effect now.
        if (e.stopRequest?.force === true) run.kill();
        else if (e.stopRequest !== undefined) run.stop();
        await run.done;
      } catch (err) {
        error = toConduitError(err);
      }
      e.run = undefined;
      const stop = e.stopRequest;
      if (stop !== undefined) {
        if (stop.force && stop.reason === 'user') {
          // Conduit marks a forcefully stopped pipeline degraded.
          await this.setState(
            e,
            this.state(PipelineStatus.Degraded, error ?? fatal(Code.PipelineForceStopped, 'stopped by force')),
          );
        } else {
          await this.setState(
            e,
            this.state(stop.reason === 'user' ? PipelineStatus.UserStopped : PipelineStatus.SystemStopped),
          );
        }
        this.log.info('pipeline stopped', { pipeline: id, reason: stop.reason });
        return;
      }
      if (error === undefined) {
        // Every source ended on its own (none do yet): nothing more to run.
        await this.setState(e, this.state(PipelineStatus.UserStopped));
        return;
      }
      if (!isRetryable(error)) {
        await this.degrade(e, error);
        return;
      }
      const delayMs = e.backoff.next();
      if (delayMs === undefined) {
        await this.degrade(
          e,
          fatal(
            Code.PipelineRecoveryExhausted,
            `pipeline ${id} failed ${e.backoff.recentAttempts + 1} times; last error: ${error.message}`,
            {
              cause: error,
              suggestion: 'fix the cause and start the pipeline again',
            },
          ),
        );
        return;
      }
      await this.setState(e, this.state(PipelineStatus.Recovering, error));
      this.log.warn('pipeline recovering', { pipeline: id, error, retryInMs: delayMs });
      const wait = new AbortController();
      e.backoffWait = wait;
      await delay(delayMs, wait.signal);
      e.backoffWait = undefined;
      if (e.stopRequest !== undefined) {
        await this.setState(
          e,
          this.state(e.stopRequest.reason === 'user' ? PipelineStatus.UserStopped : PipelineStatus.SystemStopped),
        );
        return;
      }
    }
  }

  private async degrade(e: Entry, error: ConduitError): Promise<void> {
    await this.setState(e, this.state(PipelineStatus.Degraded, error));
    this.log.error('pipeline degraded', { pipeline: e.config.id, error });
  }

  private state(status: PipelineStatus, error?: ConduitError): PipelineState {
    const s: PipelineState = { status, updatedAt: new Date().toISOString() };
    return error === undefined ? s : { ...s, error: { code: error.code, message: error.message } };
  }

  private async setState(e: Entry, state: PipelineState): Promise<void> {
    e.state = state;
    try {
      await this.save(e);
    } catch (err) {
      this.log.error('could not store the pipeline status', { pipeline: e.config.id, error: err });
    }
    for (const l of this.listeners) l(e.config.id, state);
  }

  private save(e: Entry): Promise<void> {
    const stored: StoredPipeline = {
      config: e.config,
      provisionedBy: e.provisionedBy,
      state: e.state,
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
    };
    return this.opts.store.write([{ key: StateKey.pipeline(e.config.id), value: JSON.stringify(stored) }]);
  }

  private newEntry(
    config: PipelineConfig,
    provisionedBy: ProvisionedBy,
    state: PipelineState,
    createdAt: string,
  ): Entry {
    return {
      config,
      provisionedBy,
      state,
      createdAt,
      updatedAt: createdAt,
      run: undefined,
      supervisor: undefined,
      stopRequest: undefined,
      backoffWait: undefined,
      backoff: new RecoveryBackoff(this.recovery),
      busy: false,
    };
  }

  private mustGet(id: string): Entry {
    const e = this.entries.get(id);
    if (e === undefined) {
      throw new ConduitError(Code.PipelineNotFound, `no pipeline with ID "${id}"`, {
        suggestion: 'check the pipeline ID; file pipelines are the ones in --pipelines.path',
      });
    }
    return e;
  }

  /** Forgets connectors the config no longer has (or whose type changed): their hooks run, their state goes. */
  private async forgetConnectors(gone: readonly ConnectorConfig[]): Promise<void> {
    const ops: WriteOp[] = [];
    for (const c of gone) {
      await this.connectorDeleted(c);
      ops.push({ key: StateKey.position(c.id), value: null }, { key: StateKey.connector(c.id), value: null });
    }
    if (ops.length > 0) await this.opts.store.write(ops);
  }

  /** Calls the connector's onDeleted hook with the settings it last ran with, if it ever ran. */
  private async connectorDeleted(c: ConnectorConfig): Promise<void> {
    const raw = await this.opts.store.get(StateKey.connector(c.id));
    if (raw === undefined) return;
    const stored = JSON.parse(raw) as StoredConnector;
    const plugin = this.opts.registry.connector(c.pluginRef || c.plugin);
    const side = c.type === 'source' ? plugin?.source : plugin?.destination;
    if (side === undefined) return;
    const specs = c.type === 'source' ? sourceSpecs(side.params) : destinationSpecs(side.params);
    const { settings } = validateSettings(specs, stored.lastActiveSettings);
    try {
      await side.create().onDeleted?.(new Config(specs, settings));
    } catch (err) {
      this.log.warn('connector cleanup on delete failed', { connector: c.id, error: err });
    }
  }
}

/** The config to reconcile an API pipeline to: a stored pipeline keeps its status setting (and origin). */
function desiredFor(e: Entry | undefined, desired: PipelineConfig): PipelineConfig {
  return { ...desired, status: e?.config.status ?? desired.status, origin: e?.config.origin ?? {} };
}

/** The pipeline_name label: the name, or the ID of a pipeline without one. */
function metricsName(c: PipelineConfig): string {
  return c.name === '' ? c.id : c.name;
}

function info(e: Entry): PipelineInfo {
  return {
    id: e.config.id,
    config: e.config,
    provisionedBy: e.provisionedBy,
    state: e.state,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

function timestamps(e: Entry): { createdAt: string; updatedAt: string; provisionedBy: ProvisionedBy } {
  return { createdAt: e.createdAt, updatedAt: e.updatedAt, provisionedBy: e.provisionedBy };
}

function connectorInfo(p: PipelineInfo, c: ConnectorConfig): ConnectorInfo {
  return {
    pipelineId: p.id,
    config: c,
    provisionedBy: p.provisionedBy,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** A pipeline's processors, then each connector's, in config order. */
function allProcessors(p: PipelineInfo): ProcessorInfo[] {
  const base = { pipelineId: p.id, provisionedBy: p.provisionedBy, createdAt: p.createdAt, updatedAt: p.updatedAt };
  return [
    ...p.config.processors.map((config) => ({ ...base, parent: { type: 'pipeline' as const, id: p.id }, config })),
    ...p.config.connectors.flatMap((c) =>
      c.processors.map((config) => ({ ...base, parent: { type: 'connector' as const, id: c.id }, config })),
    ),
  ];
}

/** The config with the processor `id` replaced by what `f` returns (or removed when undefined). */
function replaceProcessor(
  p: PipelineConfig,
  id: string,
  f: (old: ProcessorConfig) => ProcessorConfig | undefined,
): PipelineConfig {
  const swap = (list: readonly ProcessorConfig[]): ProcessorConfig[] =>
    list.flatMap((x) => {
      if (x.id !== id) return [x];
      const y = f(x);
      return y === undefined ? [] : [y];
    });
  return {
    ...p,
    processors: swap(p.processors),
    connectors: p.connectors.map((c) => ({ ...c, processors: swap(c.processors) })),
  };
}

/** Throws the problems found: one as itself, several together. */
function throwAll(errors: readonly ConduitError[]): void {
  if (errors.length === 1 && errors[0] !== undefined) throw errors[0];
  if (errors.length > 1) throw new ValidationErrors(errors);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const FORCE_STOP_GRACE_MS = 5_000;

/** Waits for the promises, at most `ms`; true when the time ran out first. */
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), ms)));
  const result = await Promise.race([Promise.all(promises).then(() => false as const), late]);
  clearTimeout(timer);
  return result;
}
