/**
 * The engine service: the pipelines it knows, their status, recovery, and the
 * reconciliation of pipeline files with the store. The CLI (and later the HTTP
 * API) call this layer; no logic lives only in either.
 */
import { Code } from '../errors/codes.js';
import { ConduitError, fatal, isRetryable, toConduitError } from '../errors/conduit-error.js';
import type { Logger } from '../log/logger.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { ConnectorConfig, PipelineConfig } from '../provisioning/types.js';
import { Config, validateSettings } from '../sdk/params.js';
import { destinationSpecs, sourceSpecs } from '../sdk/sdk-params.js';
import type { Store, WriteOp } from '../store/store.js';
import { delay } from '../sdk/abort.js';
import { RecoveryBackoff } from './backoff.js';
import { PipelineRun, type RunOptions } from './pipeline-run.js';
import { canonicalJson, StateKey, type StoredConnector } from './state-keys.js';
import { DEFAULT_RECOVERY, PipelineStatus, type PipelineState, type RecoveryConfig } from './types.js';

export type ProvisionedBy = 'config' | 'api';

interface StoredPipeline {
  readonly config: PipelineConfig;
  readonly provisionedBy: ProvisionedBy;
  readonly state: PipelineState;
  readonly createdAt: string;
}

interface Entry {
  config: PipelineConfig;
  provisionedBy: ProvisionedBy;
  state: PipelineState;
  createdAt: string;
  run: PipelineRun | undefined;
  supervisor: Promise<void> | undefined;
  stopRequest: { reason: 'user' | 'system'; force: boolean } | undefined;
  backoffWait: AbortController | undefined;
  backoff: RecoveryBackoff;
}

export interface PipelineInfo {
  readonly id: string;
  readonly config: PipelineConfig;
  readonly provisionedBy: ProvisionedBy;
  readonly state: PipelineState;
}

export interface EngineOptions {
  readonly store: Store;
  readonly registry: PluginRegistry;
  readonly logger: Logger;
  readonly recovery?: RecoveryConfig;
  readonly run?: Partial<RunOptions>;
  /** How long a forced stop may take before shutdown gives up waiting for it (default 5 s). */
  readonly forceStopGraceMs?: number;
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

  constructor(private readonly opts: EngineOptions) {
    this.recovery = opts.recovery ?? DEFAULT_RECOVERY;
    this.log = opts.logger;
  }

  /** Loads the pipelines the store knows. */
  async init(): Promise<void> {
    for (const [, raw] of await this.opts.store.list(StateKey.pipelinePrefix)) {
      const p = JSON.parse(raw) as StoredPipeline;
      this.entries.set(p.config.id, this.newEntry(p.config, p.provisionedBy, p.state, p.createdAt));
    }
  }

  onStatus(listener: StatusListener): void {
    this.listeners.push(listener);
  }

  list(): PipelineInfo[] {
    return [...this.entries.values()]
      .map((e) => ({ id: e.config.id, config: e.config, provisionedBy: e.provisionedBy, state: e.state }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): PipelineInfo | undefined {
    const e = this.entries.get(id);
    return e === undefined ? undefined : { id, config: e.config, provisionedBy: e.provisionedBy, state: e.state };
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
      if (sameConfig(e.config, p)) {
        // Only where it sits in its file (or the order of keys) changed: keep it for messages, restart nothing.
        if (JSON.stringify(e.config) !== JSON.stringify(p)) {
          e.config = p;
          await this.save(e);
        }
        continue;
      }
      // Also a pipeline waiting in its recovery backoff (no run, but a supervisor) is stopped.
      if (e.supervisor !== undefined) await this.stop(p.id, { reason: 'system' });
      await this.forgetReplacedConnectors(e.config, p);
      e.config = p;
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
    if (e.supervisor !== undefined) {
      throw new ConduitError(Code.PipelineRunning, `pipeline ${id} is already running`, {
        suggestion: 'stop it first',
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
      run: undefined,
      supervisor: undefined,
      stopRequest: undefined,
      backoffWait: undefined,
      backoff: new RecoveryBackoff(this.recovery),
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

  /** A connector whose ID or type changed is a new connector: the old one's state goes. */
  private async forgetReplacedConnectors(before: PipelineConfig, after: PipelineConfig): Promise<void> {
    const kept = new Map(after.connectors.map((c) => [c.id, c]));
    const ops: WriteOp[] = [];
    for (const c of before.connectors) {
      const now = kept.get(c.id);
      if (now !== undefined && now.type === c.type) continue;
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

/** Same pipeline config, ignoring where it came from and the order of object keys (settings maps). */
function sameConfig(a: PipelineConfig, b: PipelineConfig): boolean {
  return canonicalJson({ ...a, origin: undefined }) === canonicalJson({ ...b, origin: undefined });
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
