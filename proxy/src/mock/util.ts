import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { estimateTokens } from '../usage/text.js';

/** Every generated object claims this creation time, so bodies are byte-identical across runs. */
export const CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z

export type Json = Record<string, unknown>;
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with sorted keys: the same request hashes the same whatever order the client wrote it in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** Streaming is left out so a streamed answer carries the same ids and text as the JSON one. */
export function requestHash(method: string, path: string, body: unknown): string {
  const { stream: _s, stream_options: _o, ...rest } = isObj(body) ? body : { body };
  return createHash('sha256').update(`${method} ${path}\n${canonical(rest)}`).digest('hex');
}

/** Token count the fake reports: the estimation heuristic, but never 0 (the API never says 0). */
export function tokens(text: string): number {
  return Math.max(1, estimateTokens(text));
}

/** A non-negative integer header, or undefined when absent or malformed. */
export function intHeader(req: Request, name: string): number | undefined {
  const raw = req.get(name);
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

/** Splits generated text into stream deltas: by word, or evenly when it has no spaces (JSON). */
export function splitDeltas(text: string): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  if (words.length >= 5 && words.join('') === text) return words;
  const parts = Math.min(8, Math.max(1, text.length));
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

/** The echo-ish reply: mentions the model, the tail of the prompt and the request hash. */
export function replyText(model: string, promptText: string, hash: string): string {
  const lastLine = promptText.trim().split('\n').pop() ?? '';
  const flat = lastLine.replace(/\s+/g, ' ').trim();
  const snippet = flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
  return `Mock reply from ${model}. You said: "${snippet}". Reference ${hash.slice(0, 8)}.`;
}

/** The dated snapshot the real API reports for an alias, so pricing sees realistic ids. */
const SNAPSHOTS: Record<string, string> = {
  'gpt-4o': 'gpt-4o-2024-08-06',
  'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
  'gpt-4.1': 'gpt-4.1-2025-04-14',
  'gpt-4.1-mini': 'gpt-4.1-mini-2025-04-14',
  'gpt-4.1-nano': 'gpt-4.1-nano-2025-04-14',
  o3: 'o3-2025-04-16',
  'o3-mini': 'o3-mini-2025-01-31',
  'o4-mini': 'o4-mini-2025-04-16',
  'gpt-5': 'gpt-5-2025-08-07',
  'gpt-5-mini': 'gpt-5-mini-2025-08-07',
  'gpt-5-nano': 'gpt-5-nano-2025-08-07',
};

export function snapshotOf(model: string): string {
  return SNAPSHOTS[model] ?? model;
}

/** Reasoning models spend hidden tokens; the fake bills twice the visible output as reasoning. */
export function reasoningTokensFor(model: string, visibleTokens: number): number {
  return /^(o\d|gpt-5)/.test(model) && !model.includes('chat') ? visibleTokens * 2 : 0;
}

/** Text for a structured-output request, else the plain reply. */
export function contentFor(format: unknown, plain: string, sample: (schema: unknown) => unknown): string {
  if (!isObj(format)) return plain;
  if (format.type === 'json_schema') {
    // Chat nests the schema under json_schema; Responses' text.format has it inline.
    const holder = isObj(format.json_schema) ? format.json_schema : format;
    return JSON.stringify(sample(holder.schema ?? {}));
  }
  if (format.type === 'json_object') return JSON.stringify({ reply: plain });
  return plain;
}
