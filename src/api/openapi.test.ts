/**
 * The generated OpenAPI document against Conduit's own Swagger file: the same
 * paths, operation IDs and parameters, and every message with the same field
 * names and types (so the JSON shapes cannot drift from Conduit's).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFINITIONS, EXTENSION_DEFINITIONS } from './definitions.js';
import { openApiDocument } from './openapi.js';
import { ROUTES } from './routes.js';

/** Conduit's Swagger file (api/v1/api.swagger.json), as published. */
const REFERENCE = new URL('./testdata/conduit-api.swagger.json', import.meta.url);

interface Swagger {
  paths: Record<string, Record<string, { operationId: string; parameters?: Array<{ name: string; in: string }> }>>;
  definitions: Record<string, Record<string, unknown>>;
}

/** What must match: the type, format, enum and reference of each field, recursively. */
function shape(s: unknown): unknown {
  if (s === undefined || s === null || typeof s !== 'object') return s;
  const o = s as Record<string, unknown>;
  if (typeof o['$ref'] === 'string') return { $ref: o['$ref'] };
  const out: Record<string, unknown> = {};
  for (const k of ['type', 'format', 'enum']) if (o[k] !== undefined) out[k] = o[k];
  if (o['items'] !== undefined) out['items'] = shape(o['items']);
  if (o['properties'] !== undefined) {
    out['properties'] = Object.fromEntries(
      Object.entries(o['properties'] as Record<string, unknown>)
        .filter(([, v]) => !isExtensionField(v))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  const ap = o['additionalProperties'];
  if (ap !== undefined)
    out['additionalProperties'] = typeof ap === 'object' && Object.keys(ap ?? {}).length === 0 ? true : shape(ap);
  return out;
}

/** A field beyond Conduit's message (`x-extension: true`): not compared, but checked to be absent from Conduit's. */
function isExtensionField(s: unknown): boolean {
  return typeof s === 'object' && s !== null && (s as Record<string, unknown>)['x-extension'] === true;
}

const reference = JSON.parse(readFileSync(REFERENCE, 'utf8')) as Swagger;

describe('the OpenAPI document', () => {
  const doc = openApiDocument(ROUTES) as unknown as Swagger;

  it("has Conduit's paths, methods, operation IDs and parameters", () => {
    for (const r of ROUTES) {
      if (r.extension === true) continue;
      const ours = doc.paths[r.path]?.[r.method.toLowerCase()];
      const theirs = reference.paths[r.path]?.[r.method.toLowerCase()];
      assert.ok(theirs, `${r.method} ${r.path} is a route of Conduit's API`);
      assert.equal(ours?.operationId, theirs.operationId);
      const names = (p: Swagger['paths'][string][string]) =>
        (p.parameters ?? []).map((x) => `${x.in}:${x.name}`).sort();
      assert.deepEqual(names(ours), names(theirs), `parameters of ${r.operationId}`);
    }
  });

  it("serves every route of Conduit's API (or answers 501 for it)", () => {
    for (const [path, methods] of Object.entries(reference.paths)) {
      for (const m of Object.keys(methods)) {
        assert.ok(
          ROUTES.some((r) => r.path === path && r.method.toLowerCase() === m),
          `${m.toUpperCase()} ${path} is declared`,
        );
      }
    }
  });

  it("declares every message with Conduit's field names and types", () => {
    for (const [name, ours] of Object.entries(DEFINITIONS)) {
      if (name in EXTENSION_DEFINITIONS) continue;
      const theirs = reference.definitions[name];
      assert.ok(theirs, `${name} is a message of Conduit's API`);
      assert.deepEqual(shape(ours), shape(theirs), name);
    }
  });

  it('marks the routes beyond Conduit as extensions, which shadow none of its routes or messages', () => {
    const extensions = ROUTES.filter((r) => r.extension === true);
    for (const r of extensions) {
      assert.equal(reference.paths[r.path]?.[r.method.toLowerCase()], undefined, `${r.method} ${r.path} is Conduit's`);
      assert.ok(
        !Object.values(reference.paths).some((ms) => Object.values(ms).some((o) => o.operationId === r.operationId)),
        `${r.operationId} is not one of Conduit's operation IDs`,
      );
      const op = doc.paths[r.path]?.[r.method.toLowerCase()] as unknown as Record<string, unknown>;
      assert.equal(op['x-extension'], true, `${r.operationId} is marked x-extension`);
    }
    for (const name of Object.keys(EXTENSION_DEFINITIONS)) {
      assert.equal(reference.definitions[name], undefined, `${name} is a message of Conduit's API`);
    }
    const fields: string[] = [];
    for (const [name, ours] of Object.entries(DEFINITIONS)) {
      if (name in EXTENSION_DEFINITIONS || !('properties' in ours)) continue;
      for (const [field, s] of Object.entries(ours.properties ?? {})) {
        if (!isExtensionField(s)) continue;
        fields.push(`${name}.${field}`);
        const theirs = reference.definitions[name]?.['properties'] as Record<string, unknown> | undefined;
        assert.equal(theirs?.[field], undefined, `${name}.${field} is a field of Conduit's message`);
      }
    }
    assert.deepEqual(fields, ['v1Pipeline.sourceProgress'], 'the extension fields of Conduit messages');
    assert.equal(new Set(ROUTES.map((r) => r.operationId)).size, ROUTES.length, 'operation IDs are unique');
  });

  it('refers only to declared messages', () => {
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/#\/definitions\/([A-Za-z0-9]+)/g)) {
      assert.ok(DEFINITIONS[m[1] ?? ''] !== undefined, `${m[1]} is declared`);
    }
  });
});
