import type { Usage } from './types.js';
import { estimateTokens, promptTextOf } from './text.js';

export type { Usage } from './types.js';
export { promptTextOf } from './text.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const objAt = (o: Json, key: string): Json => (isObj(o[key]) ? (o[key] as Json) : {});

const NONE: Usage = Object.freeze({
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  reasoningTokens: 0,
  totalTokens: 0,
  source: 'none',
}) as Usage;

function none(): Usage {
  return { ...NONE };
}

/** The common shape of both usage families; input details may carry image/audio subsets. */
function reported(input: number, output: number, total: unknown, reasoning: unknown, inputDetails: Json): Usage {
  const u: Usage = {
    promptTokens: input,
    completionTokens: output,
    cachedTokens: num(inputDetails.cached_tokens) ?? 0,
    reasoningTokens: num(reasoning) ?? 0,
    totalTokens: num(total) ?? input + output,
    source: 'reported',
  };
  // Only when present, so plain text calls stay minimal.
  const image = num(inputDetails.image_tokens);
  const audio = num(inputDetails.audio_tokens);
  if (image) u.imageTokens = image;
  if (audio) u.audioTokens = audio;
  return u;
}

/** Chat Completions / legacy Completions / embeddings `usage` (`CompletionUsage`). */
export function fromCompletionUsage(u: unknown): Usage | undefined {
  if (!isObj(u)) return undefined;
  const prompt = num(u.prompt_tokens);
  if (prompt === undefined) return undefined;
  const reasoning = objAt(u, 'completion_tokens_details').reasoning_tokens;
  return reported(prompt, num(u.completion_tokens) ?? 0, u.total_tokens, reasoning, objAt(u, 'prompt_tokens_details'));
}

/**
 * Responses API `usage` (`ResponseUsage`); also fits gpt-image `ImagesUsage` and token-billed
 * transcription usage, which use the same input/output names. Details may be missing.
 */
export function fromResponseUsage(u: unknown): Usage | undefined {
  if (!isObj(u)) return undefined;
  const input = num(u.input_tokens);
  if (input === undefined) return undefined;
  // Transcription usage spells it `input_token_details`.
  const details = isObj(u.input_tokens_details) ? objAt(u, 'input_tokens_details') : objAt(u, 'input_token_details');
  const reasoning = objAt(u, 'output_tokens_details').reasoning_tokens;
  return reported(input, num(u.output_tokens) ?? 0, u.total_tokens, reasoning, details);
}

function imagesUsage(response: Json, request: Json): Usage {
  const data = Array.isArray(response.data) ? response.data : [];
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== 'auto' ? v : undefined);
  const images = {
    count: data.length,
    // gpt-image responses echo the resolved size/quality; dall-e only has the request's.
    size: str(response.size) ?? str(request.size) ?? '1024x1024',
    quality: str(response.quality) ?? str(request.quality) ?? 'standard',
  };
  const tokens = fromResponseUsage(response.usage);
  if (tokens) return { ...tokens, images };
  return { ...none(), images, source: 'reported' };
}

function transcriptionUsage(response: Json): Usage {
  const u = response.usage;
  if (isObj(u) && u.type === 'duration') {
    const seconds = num(u.seconds);
    return seconds === undefined ? none() : { ...none(), audioSeconds: seconds, source: 'reported' };
  }
  return fromResponseUsage(u) ?? none();
}

/**
 * Endpoints billed by what their answer reports (tokens, images, audio seconds): a success whose
 * usage cannot be read is priced unknown (NULL), never free.
 */
export const BILLED_ENDPOINTS: ReadonlySet<string> = new Set([
  'chat.completions', 'completions', 'responses', 'embeddings', 'images.generations', 'images.edits',
  'images.variations', 'audio.transcriptions', 'audio.translations',
]);

/** Endpoints OpenAI does not bill at all: a success costs 0 whatever model it names. */
export const FREE_ENDPOINTS: ReadonlySet<string> = new Set(['moderations']);

/**
 * Audio output tokens per text token of gpt-4o-mini-tts, measured on a billed 4,096-character
 * speech (877 text tokens, about 6 audio tokens each: sanand0/blog, "OpenAI TTS cost", 2025-11-02).
 */
const SPEECH_AUDIO_TOKENS_PER_TEXT_TOKEN = 6;

/**
 * `audio.speech` answered with audio bytes, which carry no usage: the characters OpenAI bills
 * tts-1/tts-1-hd by (exact, from the request), and token counts estimated from the text for
 * token-billed speech models (gpt-4o-mini-tts). Its SSE form reports usage and is read instead.
 */
export function speechUsage(request: unknown): Usage | undefined {
  if (!isObj(request) || typeof request.input !== 'string') return undefined;
  const instructions = typeof request.instructions === 'string' ? request.instructions : '';
  const promptTokens = estimateTokens(request.input) + estimateTokens(instructions);
  const completionTokens = estimateTokens(request.input) * SPEECH_AUDIO_TOKENS_PER_TEXT_TOKEN;
  return {
    ...none(),
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    audioOutputTokens: completionTokens,
    characters: request.input.length,
    source: 'estimated',
  };
}

/**
 * A Realtime `response.done` event's `response.usage`: input and output split into text, audio
 * and image tokens, cached input with its own split. Audio and image counts here are the uncached
 * ones, so that each token is priced once (cost.ts prices cached input at the cached rate).
 */
export function fromRealtimeUsage(u: unknown): Usage | undefined {
  if (!isObj(u)) return undefined;
  const input = num(u.input_tokens);
  if (input === undefined) return undefined;
  const inDetails = objAt(u, 'input_token_details');
  const cachedDetails = objAt(inDetails, 'cached_tokens_details');
  const outDetails = objAt(u, 'output_token_details');
  const usage = reported(input, num(u.output_tokens) ?? 0, u.total_tokens, undefined, {
    cached_tokens: inDetails.cached_tokens,
    image_tokens: Math.max(0, (num(inDetails.image_tokens) ?? 0) - (num(cachedDetails.image_tokens) ?? 0)),
    audio_tokens: Math.max(0, (num(inDetails.audio_tokens) ?? 0) - (num(cachedDetails.audio_tokens) ?? 0)),
  });
  const audioOut = num(outDetails.audio_tokens);
  if (audioOut) usage.audioOutputTokens = audioOut;
  return usage;
}

/** Two usages of one call added up (a Realtime session's responses). */
export function addUsage(a: Usage | undefined, b: Usage): Usage {
  if (!a) return { ...b };
  const sum = (x: number | undefined, y: number | undefined) => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0));
  const out: Usage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    source: a.source === 'reported' && b.source === 'reported' ? 'reported' : 'estimated',
  };
  for (const k of ['imageTokens', 'audioTokens', 'audioOutputTokens'] as const) {
    const v = sum(a[k], b[k]);
    if (v) out[k] = v;
  }
  return out;
}

/**
 * Usage of a non-streamed JSON response, by our dotted endpoint name. Endpoints without a
 * usage concept (models, files, moderations, ...) give zeros with source 'none'.
 */
export function usageFromJson(endpoint: string, response: unknown, request: unknown): Usage {
  if (!isObj(response)) return none();
  const req = isObj(request) ? request : {};
  switch (endpoint) {
    case 'chat.completions':
    case 'completions':
    case 'embeddings':
      return fromCompletionUsage(response.usage) ?? none();
    case 'responses':
      return fromResponseUsage(response.usage) ?? none();
    case 'images.generations':
    case 'images.edits':
    case 'images.variations':
      return imagesUsage(response, req);
    case 'audio.transcriptions':
    case 'audio.translations':
      return transcriptionUsage(response);
    default:
      return none();
  }
}

/** Fallback when the upstream reported nothing (e.g. a stream cut before its usage chunk). */
export function estimateUsage(promptText: string, completionText: string): Usage {
  const promptTokens = estimateTokens(promptText);
  const completionTokens = estimateTokens(completionText);
  return {
    promptTokens,
    completionTokens,
    cachedTokens: 0,
    reasoningTokens: 0,
    totalTokens: promptTokens + completionTokens,
    source: 'estimated',
  };
}
