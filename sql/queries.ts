import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** sql/queries: one file per panel query, named <name>.sql; the name is how everything refers to it. */
export const QUERIES_DIR = fileURLToPath(new URL('./queries/', import.meta.url));

export function queryNames(): string[] {
  return readdirSync(QUERIES_DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -'.sql'.length))
    .sort();
}

export function readQuery(name: string): string {
  return readFileSync(`${QUERIES_DIR}${name}.sql`, 'utf8');
}
