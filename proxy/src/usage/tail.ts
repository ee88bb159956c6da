import { usageFromJson, type Usage } from './extract.js';

/** How much of a response's end is kept when the whole is too large to parse for usage. */
export const TAIL_BYTES = 64 * 1024;

/**
 * Usage of a JSON response too large to keep whole (2048 embeddings are ~34 MB of base64), read
 * from its last bytes: OpenAI writes `usage` after `data`/`choices`, so it is in the tail. The
 * last `"usage":` key outside any string is taken, and its object parsed on its own.
 */
export function usageFromJsonTail(endpoint: string, tail: string): Usage | undefined {
  // lastIndexOf clamps a negative start to 0, so the walk stops by itself only above index 0.
  for (let at = tail.lastIndexOf('"usage"'); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf('"usage"', at - 1)) {
    const object = objectAfterKey(tail, at + '"usage"'.length);
    if (object === undefined) continue;
    let usage: unknown;
    try {
      usage = JSON.parse(object);
    } catch {
      continue;
    }
    const u = usageFromJson(endpoint, { usage }, undefined);
    return u.source === 'none' ? undefined : u;
  }
  return undefined;
}

/** The balanced `{...}` after `: ` at `from`, or undefined when the text there is not one. */
function objectAfterKey(text: string, from: number): string | undefined {
  const start = /^\s*:\s*\{/.exec(text.slice(from, from + 64));
  if (!start) return undefined;
  const open = from + start[0].length - 1;
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  return undefined;
}
