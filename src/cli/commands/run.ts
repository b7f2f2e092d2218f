/**
 * `conduit run`: opens the store, loads and validates the pipeline files,
 * reconciles them with the store, starts the pipelines, and runs until a
 * signal. The first SIGINT/SIGTERM drains and checkpoints (exit 0); a second
 * exits at once with 130/143.
 */
import { healthRoutes, metricsRoute, Readiness, startApi, type ApiServer } from '../../api/index.js';
import { resolveEngineConfig, type EngineConfig } from '../../config/engine-config.js';
import { Engine } from '../../engine/engine.js';
import { PipelineStatus } from '../../engine/types.js';
import { Code, ExitCode } from '../../errors/codes.js';
import { ConduitError, ValidationErrors } from '../../errors/conduit-error.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { builtinRegistry } from '../../plugins/builtin.js';
import type { PluginRegistry } from '../../plugins/registry.js';
import { loadPipelines } from '../../provisioning/load.js';
import { parseDuration } from '../../sdk/duration.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/store.js';
import type { Output } from '../output.js';
import { exitAtOnce, keepProcessAlive } from '../signals.js';
import { openSchemaRegistry } from '../../schema/index.js';

export interface RunHandle {
  readonly engine: Engine;
  readonly store: Store;
  readonly logger: Logger;
}

/** Everything `run` does before it waits: shared with quickstart and tests. */
export async function bootEngine(cfg: EngineConfig, registry: PluginRegistry, logger: Logger): Promise<RunHandle> {
  const loaded = await loadPipelines(cfg.pipelinesPath, {
    registry,
    env: process.env,
    // A missing path is only an error when the user named it (the default may be absent).
    defaultPath: cfg.pipelinesPathIsDefault ? cfg.pipelinesPath : '',
  });
  for (const w of loaded.warnings) logger.warn(w.format());
  if (loaded.errors.length > 0) throw new ValidationErrors(loaded.errors);
  const { store, warnings } = await openStore(
    cfg.store.type === 'sqlite'
      ? { type: 'sqlite', sqlitePath: cfg.store.path, sqliteTable: cfg.store.table }
      : cfg.store.type === 'postgres'
        ? { type: 'postgres', postgresConnectionString: cfg.store.connectionString, postgresTable: cfg.store.table }
        : { type: 'inmemory' },
  );
  for (const w of [...cfg.warnings, ...warnings]) logger.warn(w);
  let engine: Engine;
  try {
    const schemaRegistry = openSchemaRegistry(cfg.settings, store);
    engine = new Engine({ store, registry, logger, recovery: cfg.recovery, schemaRegistry });
  } catch (e) {
    await store.close();
    throw e;
  }
  try {
    await engine.init();
    const result = await engine.provision(loaded.pipelines);
    if (result.errors.length > 0) throw new ValidationErrors(result.errors);
    for (const id of result.deleted) logger.info('pipeline removed: no longer in any pipeline file', { pipeline: id });
    await engine.startDesired();
  } catch (e) {
    await store.close();
    throw e;
  }
  return { engine, store, logger };
}

export async function runCommand(flags: Record<string, string>, out: Output): Promise<number> {
  const exitAfter = flags['exit-after'];
  const settings = { ...flags };
  for (const k of ['json', 'quiet', 'no-color', 'exit-after']) delete settings[k];
  const cfg = resolveEngineConfig(settings);
  const exitAfterMs = exitAfter === undefined ? undefined : parseDuration(exitAfter);
  if (exitAfter !== undefined && exitAfterMs === undefined) {
    throw new ConduitError(Code.EngineConfigInvalid, `--exit-after ${JSON.stringify(exitAfter)} is not a duration`, {
      suggestion: 'use a duration such as 30s',
    });
  }
  const logger = createLogger({
    level: cfg.log.level,
    format: out.json ? 'json' : cfg.log.format,
    write: (l) => process.stdout.write(l),
  });
  const registry = builtinRegistry();
  const handle = await bootEngine(cfg, registry, logger);
  let api: ApiServer | undefined;
  // The pipelines are started (bootEngine) before the API listens, so /readyz is ready from its first answer.
  const readiness = new Readiness();
  readiness.markReady();
  try {
    api = await startApi(
      handle.engine,
      registry,
      logger,
      cfg.settings,
      [...healthRoutes({ engine: handle.engine, store: handle.store, readiness }), metricsRoute(handle.engine)],
      { addressIsDefault: cfg.apiAddressIsDefault },
    );
  } catch (e) {
    await handle.engine.shutdown(cfg.drainTimeoutMs);
    await handle.store.close();
    throw e;
  }
  logger.info('conduit is running', {
    pipelines: handle.engine.list().length,
    store: cfg.store.type,
    pipelinesPath: cfg.pipelinesPath,
  });
  const code = await waitForStop(handle, cfg, exitAfterMs, api);
  return code === ExitCode.Ok ? out.success('run', 'stopped after draining all pipelines') : code;
}

/** How long after the drain timeout a stop may still take before the process exits anyway. */
const FORCE_GRACE_MS = 5_000;

function waitForStop(
  h: RunHandle,
  cfg: EngineConfig,
  exitAfterMs: number | undefined,
  api: ApiServer | undefined,
): Promise<number> {
  return new Promise((done) => {
    const release = keepProcessAlive();
    const resolve = (code: number): void => {
      release();
      done(code);
    };
    let stopping = false;
    const stop = (code: number, why: string): void => {
      if (stopping) return;
      stopping = true;
      h.logger.info('stopping: draining pipelines and writing checkpoints', { reason: why });
      // The engine stops by force after the drain timeout; should even that hang (a connector
      // call that never returns), do not hang with it.
      setTimeout(() => {
        h.logger.error('pipelines did not stop after being stopped by force; exiting without them', {
          waitedMs: cfg.drainTimeoutMs + FORCE_GRACE_MS,
        });
        process.exit(ExitCode.Internal);
      }, cfg.drainTimeoutMs + FORCE_GRACE_MS).unref();
      // The API goes first: no request may start a pipeline while the engine drains.
      void (api?.close() ?? Promise.resolve())
        .then(() => h.engine.shutdown(cfg.drainTimeoutMs))
        .then(() => h.store.close())
        .then(
          () => resolve(code),
          (e: unknown) => {
            h.logger.error('stop failed', { error: e });
            resolve(ExitCode.Internal);
          },
        );
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: exit now, as Conduit does.
        exitAtOnce(sig);
      }
      stop(ExitCode.Ok, sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (exitAfterMs !== undefined) setTimeout(() => stop(ExitCode.Ok, 'exit-after elapsed'), exitAfterMs).unref();
    if (cfg.exitOnDegraded) {
      h.engine.onStatus((id, state) => {
        if (state.status === PipelineStatus.Degraded) {
          h.logger.error('a pipeline degraded and pipelines.exit-on-degraded is set', { pipeline: id });
          stop(ExitCode.Internal, 'pipeline degraded');
        }
      });
    }
  });
}
