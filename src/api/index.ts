/**
 * The HTTP API: Conduit's routes and messages over the engine service, behind
 * a bearer token. `conduit run` calls {@link startApi}; tests and embedders can
 * call {@link startApiServer} directly.
 */
import type { Engine } from '../engine/engine.js';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import type { Logger } from '../log/logger.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { startApiServer, type ApiServer, type RawRoute } from './server.js';
import { apiSettings } from './settings.js';

export { startApiServer, type ApiServer, type ApiServerOptions, type RawRoute } from './server.js';
export { apiSettings, parseAddress, type ApiSettings } from './settings.js';
export { ROUTES } from './routes.js';
export { openApiDocument } from './openapi.js';
export { healthRoutes, Readiness, HEALTH_SERVICES, type HealthOptions } from './health.js';
export { metricsRoute } from './metrics.js';

/** How `conduit run` calls {@link startApi}. */
export interface StartApiOptions {
  /**
   * True when api.http.address was not set anywhere (the default :8080). Without a token too, the
   * operator asked for no API: a taken port is then a warning, not a reason to refuse to start.
   */
  readonly addressIsDefault?: boolean;
}

/**
 * Starts the API as the engine settings say, or returns undefined when it is
 * off (api.enabled false). Without a token it still listens, for probes:
 * /healthz and /readyz (and /metrics when public) answer, every other route
 * answers 401 saying how to configure a token. Throws engine.config_invalid on
 * bad settings, environment.port_in_use when the address is taken (except in
 * the case {@link StartApiOptions.addressIsDefault} describes).
 */
export async function startApi(
  engine: Engine,
  registry: PluginRegistry,
  logger: Logger,
  settings: Readonly<Record<string, string>>,
  rawRoutes: readonly RawRoute[] = [],
  options: StartApiOptions = {},
): Promise<ApiServer | undefined> {
  const s = apiSettings(settings);
  if (!s.enabled) return undefined;
  const raws = rawRoutes.map((r) => (r.path === '/metrics' ? { ...r, public: s.metricsPublic } : r));
  let server: ApiServer;
  try {
    server = await startApiServer({
      engine,
      registry,
      logger,
      host: s.host,
      port: s.port,
      token: s.token,
      corsOrigins: s.corsOrigins,
      maxBodyBytes: s.maxBodyBytes,
      allowLiveRestartApply: s.allowLiveRestartApply,
      rawRoutes: raws,
    });
  } catch (e) {
    if (s.token !== undefined || options.addressIsDefault !== true || !(e instanceof ConduitError)) throw e;
    if (e.code !== Code.PortInUse) throw e;
    logger.warn('the HTTP API (health routes only, no token is configured) is not served: its address is taken', {
      address: settings['api.http.address'] ?? ':8080',
      code: e.code,
      suggestion: 'set --api.http.address (e.g. 127.0.0.1:8081), or api.enabled false',
    });
    return undefined;
  }
  const open = raws.filter((r) => r.public).map((r) => r.path);
  logger.info('HTTP API listening', {
    address: server.address,
    ...(s.token === undefined
      ? {
          serving: `${open.length === 0 ? 'nothing' : open.join(', ')} only: no token is configured (set CONDUIT_API_HTTP_AUTH_TOKEN or --api.http.auth.token-file)`,
        }
      : { serving: 'every route (bearer token)' }),
  });
  return server;
}
