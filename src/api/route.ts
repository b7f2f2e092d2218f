/**
 * A route: everything about one operation in one declaration. The router, the
 * request checks and the OpenAPI document are all generated from the list of
 * these (src/api/routes.ts); nothing about a route is written twice.
 */
import type { Engine } from '../engine/engine.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { Schema } from './schema.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface QueryParam {
  readonly name: string;
  readonly description: string;
  /** `array`: repeated (`?parentIds=a&parentIds=b`), Swagger's collectionFormat multi. */
  readonly type: 'string' | 'array';
}

export interface RouteContext {
  readonly engine: Engine;
  readonly registry: PluginRegistry;
  /** Path parameters, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The body after checking against `body.schema` (undefined for routes without one). */
  readonly body: unknown;
  /** api.allow-live-restart-apply: an apply may drain, change and restart a running pipeline. */
  readonly allowLiveRestartApply: boolean;
}

export interface RouteDef {
  readonly method: Method;
  /** Swagger path template, e.g. `/v1/pipelines/{id}`. */
  readonly path: string;
  /** Conduit's operation ID, e.g. `PipelineService_GetPipeline`. */
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly query?: readonly QueryParam[];
  /** The request body: its Swagger parameter name (grpc-gateway's: `body`, or the field's) and schema. */
  readonly body?: { readonly name: string; readonly schema: Schema };
  /** The 200 answer. */
  readonly response: Schema;
  /**
   * A route beyond Conduit's API (not in its Swagger file): the document marks it `x-extension: true`,
   * and `openapi.test.ts` checks that it does not shadow one of Conduit's. Its messages are in
   * `EXTENSION_DEFINITIONS` (definitions.ts).
   */
  readonly extension?: boolean;
  /** HTTP statuses of the errors this route documents (500 is always added). */
  readonly errors: readonly number[];
  readonly handler: (ctx: RouteContext) => Promise<unknown>;
}
