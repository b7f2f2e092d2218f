/**
 * The OpenAPI (Swagger 2.0, as Conduit's grpc-gateway writes it) document and
 * a browsable page, both generated from the route list and the definitions.
 */
import { DEFINITIONS } from './definitions.js';
import type { RouteDef } from './route.js';
import { ref, type Schema } from './schema.js';
import { VERSION } from '../version.js';

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input, or the state forbids it (code 3 INVALID_ARGUMENT or 9 FAILED_PRECONDITION).',
  401: 'No bearer token, or a wrong one (code 16 UNAUTHENTICATED).',
  404: 'No such entity (code 5 NOT_FOUND).',
  409: 'The name is taken (code 6 ALREADY_EXISTS).',
  413: 'The body is too large (code 8 RESOURCE_EXHAUSTED).',
  500: 'Internal error (code 13 INTERNAL).',
  501: 'Not served yet (code 12 UNIMPLEMENTED).',
};

/** The path parameters of a Swagger path template. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
}

export function openApiDocument(routes: readonly RouteDef[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: unknown[] = [
      ...pathParams(r.path).map((name) => ({ name, in: 'path', required: true, type: 'string' })),
      ...(r.query ?? []).map((q) =>
        q.type === 'array'
          ? {
              name: q.name,
              description: q.description,
              in: 'query',
              required: false,
              type: 'array',
              items: { type: 'string' },
              collectionFormat: 'multi',
            }
          : { name: q.name, description: q.description, in: 'query', required: false, type: 'string' },
      ),
      ...(r.body === undefined ? [] : [{ name: r.body.name, in: 'body', required: true, schema: r.body.schema }]),
    ];
    const responses: Record<string, unknown> = { '200': { description: 'A successful response.', schema: r.response } };
    for (const status of [...new Set([...r.errors, 401, 500])].sort()) {
      responses[String(status)] = { description: ERROR_TEXT[status] ?? '', schema: ref('googlerpcStatus') };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      parameters,
      responses,
      ...(r.extension === true && { 'x-extension': true }),
    };
  }
  return {
    swagger: '2.0',
    info: {
      title: 'Conduit REST API',
      version: `v${VERSION}`,
      description:
        "Conduit's HTTP API (api.v1). Every route needs `Authorization: Bearer <token>`; errors are " +
        'google.rpc.Status with a google.rpc.ErrorInfo detail whose reason is the stable error code.',
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    consumes: ['application/json'],
    produces: ['application/json'],
    securityDefinitions: {
      bearer: { type: 'apiKey', name: 'Authorization', in: 'header', description: 'Bearer <token>' },
    },
    security: [{ bearer: [] }],
    paths,
    definitions: DEFINITIONS,
  };
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function schemaHtml(s: Schema): string {
  if ('$ref' in s) {
    const name = s.$ref.replace('#/definitions/', '');
    return `<a href="#def-${esc(name)}">${esc(name)}</a>`;
  }
  switch (s.type) {
    case 'array':
      return `array of ${schemaHtml(s.items)}`;
    case 'object':
      if (s.additionalProperties !== undefined && s.properties === undefined) {
        return s.additionalProperties === true ? 'object' : `map of ${schemaHtml(s.additionalProperties)}`;
      }
      return 'object';
    case 'string':
      return s.enum !== undefined ? `enum ${s.enum.map(esc).join(' | ')}` : `string${s.format ? ` (${s.format})` : ''}`;
    default:
      return s.type;
  }
}

/** A self-contained page (no scripts, no external assets) listing every operation and message. */
export function openApiHtml(routes: readonly RouteDef[]): string {
  const ops = routes
    .map((r) => {
      const params = [
        ...pathParams(r.path).map((p) => `<li><code>${esc(p)}</code> (path)</li>`),
        ...(r.query ?? []).map(
          (q) =>
            `<li><code>${esc(q.name)}</code> (query${q.type === 'array' ? ', repeated' : ''}): ${esc(q.description)}</li>`,
        ),
        ...(r.body === undefined ? [] : [`<li>body: ${schemaHtml(r.body.schema)}</li>`]),
      ].join('');
      return `<section id="${esc(r.operationId)}"><h3><span class="m ${r.method}">${r.method}</span> <code>${esc(r.path)}</code></h3>
<p>${esc(r.summary)} <small>${esc(r.operationId)}</small></p>${params === '' ? '' : `<ul>${params}</ul>`}
<p>200: ${schemaHtml(r.response)}; errors: ${[...new Set([...r.errors, 401, 500])].sort().join(', ')} (<a href="#def-googlerpcStatus">googlerpcStatus</a>)</p></section>`;
    })
    .join('\n');
  const defs = Object.entries(DEFINITIONS)
    .map(([name, s]) => {
      let body = '';
      if (!('$ref' in s) && s.type === 'object' && s.properties !== undefined) {
        body = `<table>${Object.entries(s.properties)
          .map(
            ([k, p]) =>
              `<tr><td><code>${esc(k)}</code>${'x-extension' in p ? ' <small>extension</small>' : ''}</td><td>${schemaHtml(p)}</td><td>${esc(p.description ?? '')}</td></tr>`,
          )
          .join('')}</table>`;
      } else {
        body = `<p>${schemaHtml(s)}</p>`;
      }
      const desc = !('$ref' in s) && s.description !== undefined ? `<p>${esc(s.description)}</p>` : '';
      return `<section id="def-${esc(name)}"><h3>${esc(name)}</h3>${desc}${body}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conduit REST API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}code{font-size:.95em}
.m{display:inline-block;min-width:4rem;font-weight:bold}.GET{color:#1a7f37}.POST{color:#0969da}.PUT{color:#9a6700}.DELETE{color:#cf222e}
table{border-collapse:collapse}td{border-top:1px solid #ddd;padding:.2rem .5rem;vertical-align:top}small{color:#666}</style></head>
<body><h1>Conduit REST API v${VERSION}</h1>
<p>Send <code>Authorization: Bearer &lt;token&gt;</code> with every request. The machine-readable document:
<a href="/openapi/api/v1/api.swagger.json">api.swagger.json</a>.</p>
<h2>Operations</h2>
${ops}
<h2>Messages</h2>
${defs}
</body></html>
`;
}
