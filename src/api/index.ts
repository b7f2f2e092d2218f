/**
 * The HTTP API: Conduit's routes and messages over the engine service, behind
 * a bearer token. `conduit run` calls {@link startApi}; tests and embedders can
 * call {@link startApiServer} directly.
 */
import type { Engine } from '../engine/engine.js';
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

/**
 * Starts the API as the engine settings say, or returns undefined when it is
 * off (api.enabled false) or no token is configured: an API without a token
 * would refuse every request, so it is not served, and the log says why.
 * Throws engine.config_invalid on bad settings, environment.port_in_use when
 * the address is taken.
 */
export async function startApi(
  engine: Engine,
  registry: PluginRegistry,
  logger: Logger,
  settings: Readonly<Record<string, string>>,
  rawRoutes: readonly RawRoute[] = [],
): Promise<ApiServer | undefined> {
  const s = apiSettings(settings);
  if (!s.enabled) return undefined;
  if (s.token === undefined) {
    // Info, not a warning: running without the API is a normal choice, and a warning on every start trains people
    // to ignore warnings.
    logger.info(
      'the HTTP API is not served: no token is configured (set CONDUIT_API_HTTP_AUTH_TOKEN or --api.http.auth.token-file)',
    );
    return undefined;
  }
  const server = await startApiServer({
    engine,
    registry,
    logger,
    host: s.host,
    port: s.port,
    token: s.token,
    corsOrigins: s.corsOrigins,
    maxBodyBytes: s.maxBodyBytes,
    rawRoutes: rawRoutes.map((r) => (r.path === '/metrics' ? { ...r, public: s.metricsPublic } : r)),
  });
  logger.info('HTTP API listening', { address: server.address });
  return server;
}
