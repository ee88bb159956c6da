/**
 * A JSON document generated from a JSON Schema, for structured-output requests to the fake
 * upstream. Values depend only on the schema, property names and array positions, so the same
 * schema always yields the same document and array items differ from each other.
 */

type Schema = Record<string, unknown>;

const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_DEPTH = 16;

export function sampleFromSchema(schema: unknown): unknown {
  return generate(schema, isObj(schema) ? schema : {}, 'value', 0, 0);
}

function resolveRef(root: Schema, ref: string): unknown {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObj(node) ? node[key] : undefined;
  }
  return node ?? {};
}

function typeOf(s: Schema): string {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t.find((x) => x !== 'null') as string | undefined) ?? 'null';
  if (isObj(s.properties)) return 'object';
  if (s.items !== undefined || s.prefixItems !== undefined) return 'array';
  return 'string';
}

function generate(s: unknown, root: Schema, name: string, index: number, depth: number): unknown {
  if (!isObj(s) || depth > MAX_DEPTH) return null;
  const next = (sub: unknown, n = name, i = index) => generate(sub, root, n, i, depth + 1);
  if (typeof s.$ref === 'string') return next(resolveRef(root, s.$ref));
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[index % s.enum.length];
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    return next(alternatives.find((a) => !(isObj(a) && a.type === 'null')) ?? alternatives[0]);
  }
  if (Array.isArray(s.allOf)) return next(Object.assign({}, ...s.allOf.filter(isObj)));

  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = isObj(s.properties) ? s.properties : {};
      for (const [key, sub] of Object.entries(props)) out[key] = next(sub, key);
      return out;
    }
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 1;
      let count = Math.max(1, min);
      if (typeof s.maxItems === 'number') count = Math.min(count, s.maxItems);
      const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : [];
      return Array.from({ length: count }, (_, i) => next(tuple[i] ?? s.items ?? {}, singular(name), i));
    }
    case 'integer':
      return integerFor(s, name, index);
    case 'number':
      return integerFor(s, name, index) + (typeof s.maximum === 'number' ? 0 : 0.5);
    case 'boolean':
      return index % 2 === 0;
    case 'null':
      return null;
    default:
      return stringFor(s, name, index);
  }
}

function singular(name: string): string {
  return name.endsWith('s') && name.length > 1 ? name.slice(0, -1) : name;
}

function integerFor(s: Schema, name: string, index: number): number {
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const exMin = num(s.exclusiveMinimum);
  const exMax = num(s.exclusiveMaximum);
  const lo = num(s.minimum) ?? (exMin !== undefined ? Math.floor(exMin) + 1 : undefined);
  const hi = num(s.maximum) ?? (exMax !== undefined ? Math.ceil(exMax) - 1 : undefined);
  // An unconstrained "age" of 1 reads as a bug in a demo; everything else counts from 1.
  const base = lo ?? (/age/i.test(name) ? 25 : 1);
  const v = Math.ceil(base) + index;
  if (hi === undefined || v <= hi) return v;
  return lo === undefined ? Math.floor(hi) : Math.ceil(lo) + (index % (Math.floor(hi) - Math.ceil(lo) + 1));
}

function stringFor(s: Schema, name: string, index: number): string {
  const n = index + 1;
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'value';
  let value: string;
  switch (s.format) {
    case 'date-time':
      return new Date(Date.UTC(2025, 0, n)).toISOString();
    case 'date':
      return new Date(Date.UTC(2025, 0, n)).toISOString().slice(0, 10);
    case 'time':
      return `${String(n % 24).padStart(2, '0')}:00:00`;
    case 'email':
      return `${slug}${n}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${slug}/${n}`;
    case 'uuid':
      return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    default: {
      const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_\-.]+/g, ' ').trim() || 'value';
      value = `${words.charAt(0).toUpperCase()}${words.slice(1)} ${n}`;
    }
  }
  if (typeof s.minLength === 'number') while (value.length < s.minLength) value += ` ${slug}`;
  if (typeof s.maxLength === 'number') value = value.slice(0, s.maxLength);
  return value;
}
