/**
 * `GET /metrics`: the engine's metrics in the Prometheus text format. Behind
 * the token unless `api.http.auth.metrics-public` is set (startApi applies it).
 */
import type { Engine } from '../engine/engine.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/registry.js';
import type { RawRoute } from './server.js';

export function metricsRoute(engine: Engine): RawRoute {
  return {
    method: 'GET',
    path: '/metrics',
    public: false,
    handle: (_req, res) => {
      const text = engine.metrics.render();
      res.writeHead(200, {
        'content-type': PROMETHEUS_CONTENT_TYPE,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(text);
    },
  };
}
