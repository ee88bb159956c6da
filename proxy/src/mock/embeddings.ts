import { createHash } from 'node:crypto';
import { missing, NO_MODEL, badRequest, type Reply } from './reply.js';
import { tokens, type Json } from './util.js';

const DIMENSIONS: Record<string, number> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/** mulberry32: a tiny seeded PRNG, so a vector depends only on (model, input). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A unit-length vector, rounded to float32 so the float and base64 forms carry the same values. */
function vector(model: string, input: string, dims: number): number[] {
  const seed = createHash('sha256').update(`${model}\0${input}`).digest().readUInt32LE(0);
  const rand = prng(seed);
  const raw = Array.from({ length: dims }, () => rand() * 2 - 1);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => Math.fround(v / norm));
}

function toBase64(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf.toString('base64');
}

/** Inputs as strings; token-id arrays are rendered as text so they hash and count too. */
function inputsOf(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((x) => typeof x === 'number')) return [input.join(' ')];
  if (input.every((x) => typeof x === 'string' || Array.isArray(x))) {
    return input.map((x) => (typeof x === 'string' ? x : (x as unknown[]).join(' ')));
  }
  return undefined;
}

/** `POST /v1/embeddings`: float arrays, or base64 little-endian float32 (the SDK's default request). */
export function embeddings(body: Json): Reply {
  if (typeof body.model !== 'string' || body.model === '') return NO_MODEL;
  if (body.input === undefined) return missing('input');
  const inputs = inputsOf(body.input);
  if (!inputs) return badRequest("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'input');
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : (DIMENSIONS[body.model] ?? 1536);
  const base64 = body.encoding_format === 'base64';
  const promptTokens = inputs.reduce((sum, text) => sum + tokens(text), 0);
  return {
    kind: 'json',
    body: {
      object: 'list',
      data: inputs.map((text, index) => {
        const v = vector(body.model as string, text, dims);
        return { object: 'embedding', index, embedding: base64 ? toBase64(v) : v };
      }),
      model: body.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    },
  };
}
