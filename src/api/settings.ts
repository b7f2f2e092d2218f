/**
 * The API's engine settings (declared with the others in
 * src/config/engine-config.ts), read into what the server needs: the address
 * to bind, the bearer token (from a file or CONDUIT_API_HTTP_AUTH_TOKEN), CORS
 * origins, and the body limit.
 */
import { readFileSync } from 'node:fs';
import { Code } from '../errors/codes.js';
import { ConduitError } from '../errors/conduit-error.js';
import { registerSecret } from '../log/redact.js';
import { parseBool } from '../sdk/params.js';

export interface ApiSettings {
  readonly enabled: boolean;
  readonly host: string | undefined;
  readonly port: number;
  /** Undefined: no token configured, so only the public routes answer (health, and metrics if public). */
  readonly token: string | undefined;
  readonly corsOrigins: readonly string[];
  readonly metricsPublic: boolean;
  readonly maxBodyBytes: number;
  /** api.allow-live-restart-apply: an apply may drain, change and restart a running pipeline. */
  readonly allowLiveRestartApply: boolean;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/** Parses `:8080`, `127.0.0.1:8080`, `localhost:0` or `[::1]:8080`. */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address.trim());
  const port = Number(m?.[3]);
  if (m === null || port > 65_535) {
    throw new ConduitError(Code.EngineConfigInvalid, `api.http.address "${address}" is not host:port`, {
      configPath: '/api/http/address',
      suggestion: 'use e.g. :8080 (every interface) or 127.0.0.1:8080',
    });
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? undefined : host, port };
}

export function isLoopback(host: string | undefined): boolean {
  return host !== undefined && (host === 'localhost' || host === '::1' || host.startsWith('127.'));
}

/** Reads the API settings from the resolved engine settings (flat `api.*` keys, defaults applied). */
export function apiSettings(settings: Readonly<Record<string, string>>): ApiSettings {
  const enabled = parseBool(settings['api.enabled'] ?? 'true') !== false;
  const { host, port } = parseAddress(settings['api.http.address'] ?? ':8080');
  const inline = settings['api.http.auth.token'] ?? '';
  const file = settings['api.http.auth.token-file'] ?? '';
  if (inline !== '' && file !== '') {
    throw new ConduitError(
      Code.EngineConfigInvalid,
      'both api.http.auth.token and api.http.auth.token-file are set; the token must come from one place',
      { configPath: '/api/http/auth/token', suggestion: 'keep only one of them' },
    );
  }
  let token: string | undefined = inline === '' ? undefined : inline;
  if (file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConduitError(Code.EngineConfigInvalid, `cannot read api.http.auth.token-file ${file}`, {
        configPath: '/api/http/auth/token-file',
        suggestion: 'point it at a readable file that holds the token',
        cause: err,
      });
    }
    token = text.trim();
    if (token === '') {
      throw new ConduitError(Code.EngineConfigInvalid, `api.http.auth.token-file ${file} is empty`, {
        configPath: '/api/http/auth/token-file',
        suggestion: 'write the token into the file, e.g. openssl rand -hex 32 > token',
      });
    }
  }
  if (token !== undefined) {
    if (token.length < 16) {
      throw new ConduitError(Code.EngineConfigInvalid, 'the API token is shorter than 16 characters', {
        configPath: file === '' ? '/api/http/auth/token' : '/api/http/auth/token-file',
        suggestion: 'use a long random token, e.g. openssl rand -hex 32',
      });
    }
    registerSecret(token);
  }
  const corsOrigins = (settings['api.http.cors.allowed-origins'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (corsOrigins.includes('*') && !isLoopback(host)) {
    throw new ConduitError(
      Code.EngineConfigInvalid,
      'api.http.cors.allowed-origins "*" is only allowed when the API listens on a loopback address',
      {
        configPath: '/api/http/cors/allowed-origins',
        suggestion: 'list the exact origins, e.g. https://ui.example.com',
      },
    );
  }
  const maxBody = Number(settings['api.http.max-body-bytes'] ?? DEFAULT_MAX_BODY_BYTES);
  return {
    enabled,
    host,
    port,
    token,
    corsOrigins,
    metricsPublic: parseBool(settings['api.http.auth.metrics-public'] ?? 'false') === true,
    maxBodyBytes: Number.isSafeInteger(maxBody) && maxBody > 0 ? maxBody : DEFAULT_MAX_BODY_BYTES,
    allowLiveRestartApply: parseBool(settings['api.allow-live-restart-apply'] ?? 'false') === true,
  };
}
