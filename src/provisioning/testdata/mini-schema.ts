/**
 * A tiny JSON Schema checker for the keywords the pipeline file schema uses
 * (no validator library is installed). Returns the JSON pointers that fail.
 */
type Schema = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: unknown, v: unknown): boolean {
  const t = typeOf(v);
  const list = Array.isArray(want) ? want : [want];
  return list.some((w) => w === t || (w === 'number' && t === 'integer'));
}

export function check(root: Schema, schema: Schema, v: unknown, path = ''): string[] {
  const errs: string[] = [];
  const fail = (why: string): void => void errs.push(`${path || '/'}: ${why}`);
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const def = (root['$defs'] as Record<string, Schema>)[ref.replace('#/$defs/', '')];
    if (def === undefined) throw new Error(`unresolved ${ref}`);
    return check(root, def, v, path);
  }
  if (schema['type'] !== undefined && !typeMatches(schema['type'], v)) fail(`not ${JSON.stringify(schema['type'])}`);
  if (Array.isArray(schema['enum']) && !schema['enum'].includes(v)) fail('not in enum');
  if ('const' in schema && schema['const'] !== v) fail('not const');
  if (typeof v === 'string') {
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern']).test(v)) fail('pattern');
    if (typeof schema['maxLength'] === 'number' && v.length > schema['maxLength']) fail('too long');
    if (typeof schema['minLength'] === 'number' && v.length < schema['minLength']) fail('too short');
  }
  if (typeof v === 'number' && typeof schema['minimum'] === 'number' && v < schema['minimum']) fail('minimum');
  if (Array.isArray(v) && schema['items'] !== undefined) {
    v.forEach((item, i) => errs.push(...check(root, schema['items'] as Schema, item, `${path}/${i}`)));
  }
  if (typeOf(v) === 'object') errs.push(...checkObject(root, schema, v as Record<string, unknown>, path));
  for (const sub of (schema['allOf'] as Schema[] | undefined) ?? []) errs.push(...check(root, sub, v, path));
  const anyOf = schema['anyOf'] as Schema[] | undefined;
  if (anyOf !== undefined && !anyOf.some((s) => check(root, s, v, path).length === 0)) fail('anyOf');
  if (schema['not'] !== undefined && check(root, schema['not'] as Schema, v, path).length === 0) fail('not');
  if (schema['if'] !== undefined && check(root, schema['if'] as Schema, v, path).length === 0) {
    errs.push(...check(root, (schema['then'] as Schema | undefined) ?? {}, v, path));
  }
  return errs;
}

function checkObject(root: Schema, schema: Schema, v: Record<string, unknown>, path: string): string[] {
  const errs: string[] = [];
  const props = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
  const patterns = (schema['patternProperties'] as Record<string, Schema> | undefined) ?? {};
  for (const r of (schema['required'] as string[] | undefined) ?? []) {
    if (!(r in v)) errs.push(`${path}/${r}: required`);
  }
  for (const [k, val] of Object.entries(v)) {
    const p = `${path}/${k}`;
    let known = false;
    const prop = props[k];
    if (prop !== undefined) {
      known = true;
      errs.push(...check(root, prop, val, p));
    }
    for (const [re, s] of Object.entries(patterns)) {
      if (!new RegExp(re).test(k)) continue;
      known = true;
      errs.push(...check(root, s, val, p));
    }
    const extra = schema['additionalProperties'];
    if (!known && extra === false) errs.push(`${p}: not allowed`);
    else if (!known && typeof extra === 'object' && extra !== null) errs.push(...check(root, extra as Schema, val, p));
  }
  return errs;
}
