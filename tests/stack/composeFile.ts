import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const read = (rel: string) => readFileSync(`${ROOT}${rel}`, 'utf8');

export type Env = Record<string, string>;

/** KEY=VALUE lines of a dotenv file (no quoting or expansion: .env.example uses none). */
export function parseDotenv(text: string): Env {
  const env: Env = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`not a KEY=VALUE line: ${line}`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

/** Every `${NAME...}` the file uses, with the default it gives (`:-`/`-` forms), if any. */
export function composeVariables(text: string): Map<string, { default?: string; forms: string[] }> {
  const vars = new Map<string, { default?: string; forms: string[] }>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}/g)) {
    const [, name, op, arg] = m;
    const v = vars.get(name!) ?? { forms: [] };
    v.forms.push(m[0]);
    if (op === ':-' || op === '-') v.default = arg;
    vars.set(name!, v);
  }
  return vars;
}

/**
 * Compose's variable interpolation, for the forms the compose spec defines: $$, $NAME, ${NAME},
 * ${NAME:-default}, ${NAME-default}, ${NAME:+alt}, ${NAME+alt}, ${NAME:?err}, ${NAME?err}.
 */
export function interpolate(text: string, env: Env): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, name, op, arg, bare) => {
    if (all === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const value = env[name as string];
    const setNonEmpty = value !== undefined && value !== '';
    switch (op) {
      case ':-': return setNonEmpty ? value : (arg as string);
      case '-': return value !== undefined ? value : (arg as string);
      case ':+': return setNonEmpty ? (arg as string) : '';
      case '+': return value !== undefined ? (arg as string) : '';
      case ':?':
      case '?':
        if (op === ':?' ? !setNonEmpty : value === undefined) throw new Error(`${name}: ${arg}`);
        return value!;
      default: return value ?? '';
    }
  });
}

export interface ComposeService {
  image?: string;
  build?: { context: string; target?: string } | string;
  pull_policy?: string;
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  init?: boolean;
  stop_grace_period?: string;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Interpolates every string in a parsed document (Compose interpolates after parsing the YAML). */
function interpolateTree(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateTree(n, env));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, env)]));
  }
  return node;
}

/** The compose file as Compose reads it: YAML with merge keys, before or after interpolation. */
export function loadCompose(env?: Env): ComposeFile {
  const doc = parse(read('docker-compose.yml'), { merge: true }) as unknown;
  return (env ? interpolateTree(doc, env) : doc) as ComposeFile;
}
