/**
 * `conduit doctor`: would `conduit run` start here? Offline checks, in a fixed
 * order, with the settings `run` would use (flags > CONDUIT_* > conduit.yaml):
 *
 * | check                       | what                                                                  |
 * | --------------------------- | --------------------------------------------------------------------- |
 * | `config.resolve`            | the engine settings resolve (conduit.yaml, environment, flags)        |
 * | `config.validate`           | the pipeline files parse and validate as `pipelines validate` does    |
 * | `store.reachable`           | the SQLite file's folder is writable / the file opens; PostgreSQL answers |
 * | `network.http`              | the API address can be bound (and the token, if any, is usable)       |
 * | `network.grpc`              | skip: this engine serves no gRPC API                                  |
 * | `plugins.connectors_dir`    | connectors.path, if present, is a readable folder                     |
 * | `plugins.processors_dir`    | processors.path, likewise                                             |
 * | `plugins.builtin`           | every built-in plugin registers and instantiates                      |
 * | `plugins.standalone_compat` | `--deep` only; skip: standalone plugins are not loaded                |
 * | `engine.reachable`          | `--require-server` only: a running engine answers /readyz             |
 *
 * Each check is pass, warn, fail or skip (not run: what it needs is missing, or
 * it does not apply to this engine). Exit code: 0 without a fail, else the exit
 * code of the first failing check's error code (the order above decides).
 * Nothing is written except what `run` writes itself: an existing SQLite file
 * or PostgreSQL table is opened (and its table created if missing); a missing
 * SQLite file is not created.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { apiSettings, type ApiSettings } from '../../api/settings.js';
import { ENGINE_PARAMS, resolveEngineConfig, type EngineConfig } from '../../config/engine-config.js';
import { Code, ExitCode, exitCodeFor } from '../../errors/codes.js';
import { ConduitError, toConduitError, type ValidationErrors } from '../../errors/conduit-error.js';
import { redactText } from '../../log/redact.js';
import { builtinRegistry } from '../../plugins/builtin.js';
import { PluginRegistry } from '../../plugins/registry.js';
import { loadPipelines } from '../../provisioning/load.js';
import { closest } from '../../sdk/params.js';
import { PostgresStore, SqliteStore, type Store } from '../../store/index.js';
import type { Output } from '../output.js';

export const CHECK_NAMES = [
  'config.resolve',
  'config.validate',
  'store.reachable',
  'network.http',
  'network.grpc',
  'plugins.connectors_dir',
  'plugins.processors_dir',
  'plugins.builtin',
  'plugins.standalone_compat',
  'engine.reachable',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  readonly name: CheckName;
  readonly status: CheckStatus;
  readonly message: string;
  readonly suggestion?: string;
  /** The stable error code of a fail or warn. */
  readonly code?: string;
  /** Every problem, when there are several (config.validate). */
  readonly problems?: ReadonlyArray<ReturnType<ConduitError['toJSON']>>;
}

/** The flags of `conduit doctor` besides the engine settings and the global ones. */
export const DOCTOR_FLAGS = ['check', 'deep', 'require-server'] as const;

export interface DoctorOptions {
  /** Only these checks (config.resolve always runs, and is shown when it fails). */
  readonly only?: ReadonlySet<CheckName>;
  readonly deep?: boolean;
  readonly requireServer?: boolean;
  /** How long the store or the server may take to answer (default 3 s). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 3_000;

/** Runs the checks; never throws (a check that throws unexpectedly fails with its error). */
export async function runChecks(
  settings: Readonly<Record<string, string>>,
  opts: DoctorOptions = {},
): Promise<CheckResult[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const wanted = (n: CheckName): boolean => opts.only === undefined || opts.only.has(n);
  const results: CheckResult[] = [];
  let cfg: EngineConfig | undefined;
  let resolveFailure: CheckResult | undefined;
  try {
    cfg = resolveEngineConfig(settings, opts.env ?? process.env);
  } catch (e) {
    resolveFailure = failed('config.resolve', e);
  }
  if (resolveFailure !== undefined) results.push(resolveFailure);
  else if (wanted('config.resolve')) results.push(resolveCheck(cfg as EngineConfig));

  const registry = safeRegistry();
  const add = async (name: CheckName, run: (c: EngineConfig) => Promise<CheckResult> | CheckResult): Promise<void> => {
    if (!wanted(name)) return;
    if (cfg === undefined) {
      results.push({
        name,
        status: 'skip',
        message: 'not checked: the engine settings do not resolve (config.resolve)',
      });
      return;
    }
    try {
      results.push(await run(cfg));
    } catch (e) {
      results.push(failed(name, e));
    }
  };
  await add('config.validate', (c) => validateCheck(c, registry, opts.env ?? process.env));
  await add('store.reachable', (c) => storeCheck(c, timeoutMs));
  await add('network.http', (c) => httpCheck(c, opts.requireServer === true));
  await add('network.grpc', (c) => ({
    name: 'network.grpc',
    status: 'skip',
    message: `this engine serves no gRPC API: api.grpc.address (${c.settings['api.grpc.address'] ?? ':8084'}) is accepted for Conduit compatibility and not bound`,
  }));
  await add('plugins.connectors_dir', (c) =>
    pluginDirCheck('plugins.connectors_dir', 'connectors.path', c.settings['connectors.path'] ?? ''),
  );
  await add('plugins.processors_dir', (c) =>
    pluginDirCheck('plugins.processors_dir', 'processors.path', c.settings['processors.path'] ?? ''),
  );
  await add('plugins.builtin', () => builtinCheck());
  if (opts.deep === true) {
    await add('plugins.standalone_compat', () => ({
      name: 'plugins.standalone_compat',
      status: 'skip',
      message:
        'standalone (gRPC) connector and WASM processor plugins are not loaded by this engine: there is nothing to check',
    }));
  }
  if (opts.requireServer === true) await add('engine.reachable', (c) => engineCheck(c, timeoutMs));
  return results;
}

/** The exit code: 0 without a fail, else the exit code of the first failing check's code. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  const first = results.find((r) => r.status === 'fail');
  if (first === undefined) return ExitCode.Ok;
  return exitCodeFor(first.code ?? Code.Internal);
}

export async function doctorCommand(
  flags: Record<string, string>,
  out: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(flags)) if (ENGINE_PARAMS[k] !== undefined) settings[k] = v;
  const only = parseOnly(flags['check']);
  const results = await runChecks(settings, {
    ...(only !== undefined && { only }),
    deep: flags['deep'] === 'true',
    requireServer: flags['require-server'] === 'true',
    env,
  });
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) counts[r.status]++;
  const summary = `${counts.pass} passed, ${counts.warn} warned, ${counts.fail} failed, ${counts.skip} skipped`;
  const result = { checks: results, ...counts };
  const firstFail = results.find((r) => r.status === 'fail');
  if (!out.json) out.info(table(results));
  if (firstFail === undefined) return out.success('doctor', summary, result, summary);
  const err = new ConduitError(firstFail.code ?? Code.Internal, `${firstFail.name}: ${firstFail.message}`, {
    ...(firstFail.suggestion !== undefined && { suggestion: firstFail.suggestion }),
  });
  out.failure('doctor', err, result);
  if (!out.json) out.info(summary);
  return exitCodeOf(results);
}

/** `--check a,b` (also repeated commas); unknown names are a usage error. */
function parseOnly(raw: string | undefined): Set<CheckName> | undefined {
  if (raw === undefined || raw === 'true') return undefined;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const set = new Set<CheckName>();
  for (const n of names) {
    if (!(CHECK_NAMES as readonly string[]).includes(n)) {
      const near = closest(n, CHECK_NAMES);
      throw new ConduitError(Code.EngineConfigInvalid, `--check: no check is named "${n}"`, {
        suggestion: near === undefined ? `use one of ${CHECK_NAMES.join(', ')}` : `did you mean ${near}?`,
      });
    }
    set.add(n as CheckName);
  }
  return set;
}

function table(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length), 5);
  const lines = [`${'STATUS'.padEnd(6)}  ${'CHECK'.padEnd(width)}  MESSAGE`];
  for (const r of results) {
    lines.push(`${r.status.toUpperCase().padEnd(6)}  ${r.name.padEnd(width)}  ${r.message}`);
    const pad = ' '.repeat(6 + 2 + width + 2);
    for (const p of r.problems ?? [])
      lines.push(
        `${pad}- ${p.file === undefined ? '' : `${p.file}:${p.line ?? 0}:${p.column ?? 0}: `}${p.code}: ${p.message}`,
      );
    if (r.code !== undefined && r.status !== 'pass') lines.push(`${pad}code: ${r.code}`);
    if (r.suggestion !== undefined && r.status !== 'pass') lines.push(`${pad}suggestion: ${r.suggestion}`);
  }
  return lines.join('\n');
}

function failed(name: CheckName, e: unknown): CheckResult {
  const err = toConduitError(e);
  const many = (err as Partial<ValidationErrors>).errors;
  const list = Array.isArray(many) ? many : [err];
  return {
    name,
    status: 'fail',
    message: redactText(list.length > 1 ? `${list.length} problems: ${err.message}` : err.message),
    code: err.code,
    ...(err.suggestion !== undefined && { suggestion: redactText(err.suggestion) }),
    ...(list.length > 1 && { problems: list.map((x) => x.toJSON()) }),
  };
}

function resolveCheck(cfg: EngineConfig): CheckResult {
  const where = `store ${cfg.store.type}, pipelines ${cfg.pipelinesPath}, log ${cfg.log.format}/${cfg.log.level}`;
  if (cfg.warnings.length > 0) {
    return {
      name: 'config.resolve',
      status: 'warn',
      message: redactText(`${where}; ${cfg.warnings.join('; ')}`),
      code: Code.EngineConfigInvalid,
      suggestion: 'remove or rename the settings named above',
    };
  }
  return { name: 'config.resolve', status: 'pass', message: where };
}

async function validateCheck(
  cfg: EngineConfig,
  registry: PluginRegistry,
  env: NodeJS.ProcessEnv,
): Promise<CheckResult> {
  const loaded = await loadPipelines(cfg.pipelinesPath, {
    registry,
    env,
    defaultPath: cfg.pipelinesPathIsDefault ? cfg.pipelinesPath : '',
    configureProcessors: true,
  });
  const [first] = loaded.errors;
  if (first !== undefined) {
    return {
      name: 'config.validate',
      status: 'fail',
      message: redactText(
        `${first.file === undefined ? '' : `${first.file}:${first.line ?? 0}:${first.column ?? 0}: `}${first.message}` +
          (loaded.errors.length > 1 ? ` (and ${loaded.errors.length - 1} more problem(s), listed below)` : ''),
      ),
      code: first.code,
      suggestion: first.suggestion ?? `run "conduit pipelines validate ${cfg.pipelinesPath}" for every problem`,
      problems: loaded.errors.map((e) => e.toJSON()),
    };
  }
  const ids = loaded.pipelines.map((p) => p.id);
  const what = `${ids.length} pipeline${ids.length === 1 ? '' : 's'} valid in ${cfg.pipelinesPath}`;
  const [w] = loaded.warnings;
  if (w !== undefined) {
    return {
      name: 'config.validate',
      status: 'warn',
      message: redactText(`${what}; ${loaded.warnings.length} warning(s): ${w.message}`),
      code: w.code,
      ...(w.suggestion !== undefined && { suggestion: w.suggestion }),
      problems: loaded.warnings.map((x) => x.toJSON()),
    };
  }
  return { name: 'config.validate', status: 'pass', message: what };
}

async function storeCheck(cfg: EngineConfig, timeoutMs: number): Promise<CheckResult> {
  const s = cfg.store;
  if (s.type === 'inmemory') {
    return {
      name: 'store.reachable',
      status: 'warn',
      message: 'db.type inmemory: nothing to reach, and every position is lost when the engine stops',
      suggestion: 'use db.type sqlite (the default) or postgres to resume after a restart',
    };
  }
  if (s.type === 'sqlite') {
    const path = resolve(s.path);
    const exists = await stat(path).then(
      (st) => st,
      () => undefined,
    );
    if (exists === undefined) {
      // Not created here: doctor leaves no file behind. `run` creates it in this folder.
      const dir = dirname(path);
      try {
        await access(dir, fsConstants.W_OK);
      } catch {
        return {
          name: 'store.reachable',
          status: 'fail',
          message: `the SQLite store ${s.path} cannot be created: its folder ${dir} is missing or not writable`,
          code: Code.StoreUnreachable,
          suggestion: 'create the folder, or point --db.sqlite.path at a writable place',
        };
      }
      return {
        name: 'store.reachable',
        status: 'pass',
        message: `sqlite ${s.path} does not exist yet; its folder is writable (run creates it)`,
      };
    }
    return openAndClose(new SqliteStore({ path, table: s.table }), `sqlite ${s.path}`, timeoutMs, {
      suggestion: 'check the file is a SQLite database this user may write, or point --db.sqlite.path elsewhere',
    });
  }
  return openAndClose(
    new PostgresStore({
      connectionString: s.connectionString,
      table: s.table,
      poolSize: 1,
      connectTimeoutMs: timeoutMs,
    }),
    'postgres (db.postgres.connection-string)',
    timeoutMs,
    { suggestion: 'check the server runs and db.postgres.connection-string (host, port, user, password, database)' },
  );
}

/** Opens (init) and closes a store within the deadline. */
async function openAndClose(
  store: Store,
  what: string,
  timeoutMs: number,
  hint: { suggestion: string },
): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConduitError(Code.StoreUnreachable, `${what} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([store.init(), deadline]);
    return { name: 'store.reachable', status: 'pass', message: `${what} opened and closed` };
  } catch (e) {
    const err = toConduitError(e, Code.StoreUnreachable);
    return {
      name: 'store.reachable',
      status: 'fail',
      message: redactText(err.message.startsWith(what) ? err.message : `${what}: ${err.message}`),
      code: err.code === Code.Internal ? Code.StoreUnreachable : err.code,
      suggestion: err.suggestion ?? hint.suggestion,
    };
  } finally {
    clearTimeout(timer);
    await store.close().catch(() => undefined);
  }
}

async function httpCheck(cfg: EngineConfig, requireServer: boolean): Promise<CheckResult> {
  let s: ApiSettings;
  try {
    s = apiSettings(cfg.settings);
  } catch (e) {
    return failed('network.http', e);
  }
  if (!s.enabled) return { name: 'network.http', status: 'pass', message: 'api.enabled is false: nothing to bind' };
  const address = cfg.settings['api.http.address'] ?? ':8080';
  const serves =
    s.token === undefined
      ? 'only /healthz and /readyz will answer: no token is configured (CONDUIT_API_HTTP_AUTH_TOKEN or --api.http.auth.token-file)'
      : 'every route, behind the bearer token';
  const problem = await bindProblem(s.host, s.port);
  if (problem === undefined) return { name: 'network.http', status: 'pass', message: `${address} is free; ${serves}` };
  if (requireServer && problem === 'EADDRINUSE') {
    // The engine doctor is asked to find holds the port: engine.reachable says whether it answers.
    return { name: 'network.http', status: 'pass', message: `${address} is in use, as expected with --require-server` };
  }
  const message = `the HTTP API cannot listen on ${address}: ${problem}`;
  const suggestion = 'stop what uses the port, or set --api.http.address (e.g. 127.0.0.1:8081)';
  // The same rule as run (startApi): with no token and the default address, run only warns and goes on.
  if (s.token === undefined && cfg.apiAddressIsDefault) {
    return {
      name: 'network.http',
      status: 'warn',
      message: `${message}; run will start without the health routes`,
      code: Code.PortInUse,
      suggestion,
    };
  }
  return { name: 'network.http', status: 'fail', message, code: Code.PortInUse, suggestion };
}

/** Binds and releases the address; the error code (EADDRINUSE, EACCES…) when it cannot. */
function bindProblem(host: string | undefined, port: number): Promise<string | undefined> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    server.listen({ port, ...(host !== undefined && { host }), exclusive: true }, () => {
      server.close(() => done(undefined));
    });
  });
}

async function pluginDirCheck(name: CheckName, setting: string, path: string): Promise<CheckResult> {
  const st = await stat(path).then(
    (x) => x,
    () => undefined,
  );
  if (st === undefined) {
    return { name, status: 'pass', message: `${setting} ${path} is absent (optional: only built-in plugins are used)` };
  }
  if (!st.isDirectory()) {
    return {
      name,
      status: 'fail',
      message: `${setting} ${path} is not a folder`,
      code: Code.EngineConfigInvalid,
      suggestion: `point --${setting} at a folder, or remove ${path}`,
    };
  }
  let entries: string[];
  try {
    await access(path, fsConstants.R_OK | fsConstants.X_OK);
    entries = (await readdir(path)).filter((e) => !e.startsWith('.'));
  } catch {
    return {
      name,
      status: 'fail',
      message: `${setting} ${path} is not readable`,
      code: Code.EngineConfigInvalid,
      suggestion: `give this user read access to ${path}, or point --${setting} elsewhere`,
    };
  }
  if (entries.length > 0) {
    return {
      name,
      status: 'warn',
      message: `${setting} ${path} holds ${entries.length} file(s) this engine does not load (standalone plugins are not supported; built-ins only)`,
      suggestion: 'use the built-in plugins (conduit connector-plugins list), or remove the files to silence this',
    };
  }
  return { name, status: 'pass', message: `${setting} ${path} is a readable folder (empty)` };
}

/** The built-in registry for config.validate; empty when building it throws (plugins.builtin reports why). */
function safeRegistry(): PluginRegistry {
  try {
    return builtinRegistry();
  } catch {
    return new PluginRegistry();
  }
}

function builtinCheck(): CheckResult {
  const registry = builtinRegistry(); // throws on a name registered twice: reported as the failure
  const broken: string[] = [];
  for (const c of registry.connectors()) {
    for (const [kind, side] of [
      ['source', c.source],
      ['destination', c.destination],
    ] as const) {
      if (side === undefined) continue;
      try {
        side.create();
      } catch (e) {
        broken.push(`${c.name} ${kind}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  for (const p of registry.processors()) {
    try {
      p.create();
    } catch (e) {
      broken.push(`${p.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const counted = `${registry.connectors().length} connectors, ${registry.processors().length} processors`;
  if (broken.length > 0) {
    return {
      name: 'plugins.builtin',
      status: 'fail',
      message: `${broken.length} built-in plugin(s) cannot be created: ${broken.join('; ')}`,
      code: Code.Internal,
      suggestion: 'reinstall (npm ci): the installation is incomplete',
    };
  }
  return { name: 'plugins.builtin', status: 'pass', message: `${counted} registered and created` };
}

async function engineCheck(cfg: EngineConfig, timeoutMs: number): Promise<CheckResult> {
  const s = apiSettings(cfg.settings);
  let host = s.host ?? '127.0.0.1';
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  if (host.includes(':')) host = `[${host}]`;
  const url = `http://${host}:${s.port}/readyz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    if (res.status === 200) return { name: 'engine.reachable', status: 'pass', message: `${url} answers ready` };
    return {
      name: 'engine.reachable',
      status: 'fail',
      message: `${url} answers ${res.status}: ${redactText(body.trim().slice(0, 200))}`,
      code: Code.ApiUnreachable,
      suggestion: 'wait for the engine to start, or look at its log',
    };
  } catch (e) {
    return {
      name: 'engine.reachable',
      status: 'fail',
      message: `no engine answers at ${url}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`,
      code: Code.ApiUnreachable,
      suggestion: 'start it with "conduit run", or point --api.http.address at it',
    };
  }
}
