/**
 * What both sides of the kafka connector share: the client options built from
 * the connection parameters (servers, TLS, SASL), and how a client error is
 * told apart (retryable or not), as data read from the error, never its text.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { Config } from '../../sdk/params.js';
import { paramError } from '../util.js';

export interface KafkaClientOptions {
  clientId: string;
  bootstrapBrokers: string[];
  tls?: TlsOptions;
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
  connectTimeout: number;
  requestTimeout: number;
  /** Retries inside the client; the connector's own loops retry beyond them. */
  retries: number;
  retryDelay: number;
}

/** Builds the client options; throws a ConduitError naming the parameter on a bad value. */
export function clientOptions(config: Config): KafkaClientOptions {
  const servers = config.list('servers');
  for (const s of servers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(s) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(s)) {
      throw paramError('servers', `"${s}" is not host:port`, 'write the brokers as host:port, e.g. 127.0.0.1:9092');
    }
  }
  const opts: KafkaClientOptions = {
    clientId: config.string('clientID'),
    bootstrapBrokers: servers,
    connectTimeout: 5000,
    requestTimeout: 30000,
    retries: 2,
    retryDelay: 250,
  };
  const ca = pem(config, 'caCert');
  const cert = pem(config, 'clientCert');
  const key = pem(config, 'clientKey');
  if ((cert === undefined) !== (key === undefined)) {
    throw paramError(
      cert === undefined ? 'clientCert' : 'clientKey',
      'clientCert and clientKey go together',
      'set both for mutual TLS, or neither',
    );
  }
  const insecure = config.bool('insecureSkipVerify');
  if (config.bool('tls.enabled') || ca !== undefined || cert !== undefined || insecure) {
    const tls: TlsOptions = {};
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    if (insecure) {
      tls.rejectUnauthorized = false;
      tls.checkServerIdentity = () => undefined;
    }
    opts.tls = tls;
  }
  const mechanism = config.string('saslMechanism');
  if (mechanism !== '') {
    for (const k of ['saslUsername', 'saslPassword']) {
      if (!config.has(k)) throw paramError(k, `saslMechanism ${mechanism} needs ${k}`, `set ${k}`);
    }
    opts.sasl = {
      mechanism: mechanism as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512',
      username: config.string('saslUsername'),
      password: config.string('saslPassword'),
    };
  } else if (config.has('saslUsername') || config.has('saslPassword')) {
    throw paramError(
      'saslMechanism',
      'a SASL user or password is set without a mechanism',
      'set saslMechanism to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512',
    );
  }
  return opts;
}

/** PEM text as given, or read from the file the parameter names. */
function pem(config: Config, key: string): string | undefined {
  if (!config.has(key)) return undefined;
  const v = config.string(key);
  if (v.includes('-----BEGIN')) return v;
  try {
    return readFileSync(v, 'utf8');
  } catch (err) {
    // The value is not echoed: for clientKey it could be a mangled secret.
    throw paramError(
      key,
      `neither PEM text nor a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      'give the PEM text itself, or the path of a PEM file',
    );
  }
}

interface ClientError {
  cause?: unknown;
  code?: string;
  canRetry?: boolean;
  apiId?: string;
  errors?: unknown[];
}

/** Every error in a client error tree (the client nests them in AggregateErrors and causes). */
export function flatErrors(err: unknown, out: ClientError[] = [], depth = 0): ClientError[] {
  if (typeof err !== 'object' || err === null || depth > 6) return out;
  const e = err as ClientError;
  out.push(e);
  if (Array.isArray(e.errors)) for (const x of e.errors) flatErrors(x, out, depth + 1);
  if (e.cause !== undefined) flatErrors(e.cause, out, depth + 1);
  return out;
}

/** A protocol error code (`OFFSET_OUT_OF_RANGE`, …) anywhere in the tree. */
export function hasApiError(err: unknown, apiId: string): boolean {
  return flatErrors(err).some((e) => e.apiId === apiId);
}

/** Errors that no retry cures: authentication and authorization, a bad request. */
const FATAL_API_ERRORS = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'INVALID_TOPIC_EXCEPTION',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
]);

/** Whether trying again may succeed (a broker down, a leader moving, a timeout). */
export function isRetryable(err: unknown): boolean {
  const all = flatErrors(err);
  if (all.some((e) => e.apiId !== undefined && FATAL_API_ERRORS.has(e.apiId))) return false;
  if (all.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || e.code === 'PLT_KFK_USER')) return false;
  return true;
}

/** A short message for an error tree: the distinct leaf messages. */
export function describe(err: unknown): string {
  const msgs = new Set<string>();
  for (const e of flatErrors(err)) {
    if ((Array.isArray(e.errors) && e.errors.length > 0) || e.cause !== undefined) continue;
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string' && m !== '') msgs.add(m);
  }
  if (msgs.size === 0) return err instanceof Error ? err.message : String(err);
  return [...msgs].slice(0, 3).join('; ');
}

/** Closes a client without waiting for its in-flight requests (the client's `close(true)`). */
export function forceClose(client: { close(force?: boolean): Promise<void> }): Promise<void> {
  return client.close(true);
}
