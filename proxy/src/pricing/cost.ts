import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Usage } from '../usage/types.js';

const rate = z.number().finite().min(0);
const rates = {
  input: rate,
  cached_input: rate.optional(),
  output: rate.optional(),
  /** Image-input tokens (gpt-image edits); text input uses `input`. */
  image_input: rate.optional(),
  /** Audio-input tokens (transcribe / audio models). */
  audio_input: rate.optional(),
  /** Audio-output tokens (Realtime); without it audio output is priced as `output`. */
  audio_output: rate.optional(),
};
const modelPrice = z.strictObject({
  ...rates,
  /** Duration-billed audio (whisper-1), USD per minute. */
  per_minute: rate.optional(),
  /** Character-billed speech (tts-1, tts-1-hd), USD per 1M characters of input text. */
  per_million_characters: rate.optional(),
  /** When the price was read (YYYY-MM-DD) and from where (a key of the table's `sources`). */
  as_of: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  source: z.string().min(1),
  /** Long-context pricing: the highest tier whose threshold the prompt exceeds replaces the base rates. */
  tiers: z.array(z.strictObject({ above_input_tokens: z.number().int().min(0), ...rates })).optional(),
});
const imagePrices = z.record(z.string().regex(/^[a-z]+\/\d+x\d+$/, 'keys look like "quality/WxH"'), rate);
const tableShape = {
  version: z.string().min(1),
  source: z.string(),
  /** Where each price came from, by the key models name in their `source`. */
  sources: z.record(z.string(), z.string().min(1)),
  models: z.record(z.string(), modelPrice),
  images: z.record(z.string(), imagePrices),
};
const tableSchema = z.strictObject(tableShape).superRefine((t, ctx) => {
  for (const [id, p] of Object.entries(t.models)) {
    if (!(p.source in t.sources)) ctx.addIssue({ code: 'custom', path: ['models', id, 'source'], message: `"${p.source}" is not a key of sources` });
  }
});
/**
 * An override may carry any subset; its entries replace the built-in entries of the same model.
 * An operator's own prices need no date or source.
 */
const overrideSchema = z
  .strictObject({ ...tableShape, models: z.record(z.string(), modelPrice.extend({ as_of: z.string().optional(), source: z.string().optional() })) })
  .partial();

/** USD per 1M tokens per model id, and USD per image for per-image models. */
export type PriceTable = Omit<z.infer<typeof tableSchema>, 'models'> & { models: Record<string, ModelPrice> };
export type ModelPrice = Omit<z.infer<typeof modelPrice>, 'as_of' | 'source'> & { as_of?: string; source?: string };

function readJson(file: string | URL, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`Cannot read ${what} ${String(file)}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${String(file)} is not valid JSON: ${(err as Error).message}`);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string, file: string | URL): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new Error(`Invalid ${what} ${String(file)}: ${issues}`);
}

/** The built-in table (shipped next to this module), with `overrideFile` merged over it per model. */
export function loadPriceTable(overrideFile?: string): PriceTable {
  const builtinUrl = new URL('./prices.json', import.meta.url);
  const table = parse(tableSchema, readJson(builtinUrl, 'built-in price table'), 'built-in price table', builtinUrl);
  if (!overrideFile) return table;
  const over = parse(overrideSchema, readJson(overrideFile, 'price file'), 'price file', overrideFile);
  return {
    version: over.version ?? `${table.version}+override`,
    source: over.source ?? table.source,
    sources: { ...table.sources, ...over.sources },
    models: { ...table.models, ...over.models },
    images: { ...table.images, ...over.images },
  };
}

const DATED_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{4})$/;
/** What may follow a known id for it still to be that model: a snapshot date or "latest", plus a tag. */
const VERSION_TAIL = /^(latest|\d{4}-\d{2}-\d{2}|\d{4})(-[a-z0-9]+)*$/;

/**
 * The table's id for a model name: exact, else without a dated snapshot suffix, else the longest
 * known id followed only by a date/"latest" tail. `gpt-4o-mini-…` never resolves to `gpt-4o`:
 * a different product must not silently take another's price.
 */
export function resolveModel(table: PriceTable, model: string): string | undefined {
  const known = (id: string) => id in table.models || id in table.images;
  const name = model.trim().toLowerCase().replace(/^openai\//, '');
  if (known(name)) return name;
  const undated = name.replace(DATED_SUFFIX, '');
  if (undated !== name && known(undated)) return undated;
  let best: string | undefined;
  for (const id of [...Object.keys(table.models), ...Object.keys(table.images)]) {
    if (name.startsWith(`${id}-`) && VERSION_TAIL.test(name.slice(id.length + 1)) && (!best || id.length > best.length)) best = id;
  }
  return best;
}

function imageCost(prices: Record<string, number>, images: NonNullable<Usage['images']>): number | null {
  const size = images.size && images.size !== 'auto' ? images.size : '1024x1024';
  // dall-e has only "standard"/"hd"; gpt-image only low/medium/high: fall back to each family's default.
  for (const quality of [images.quality, 'standard', 'medium']) {
    const each = quality ? prices[`${quality}/${size}`] : undefined;
    if (each !== undefined) return each * images.count;
  }
  return null;
}

function ratesFor(price: ModelPrice, promptTokens: number) {
  let chosen: Omit<ModelPrice, 'tiers' | 'per_minute' | 'per_million_characters'> = price;
  for (const tier of price.tiers ?? []) if (promptTokens > tier.above_input_tokens) chosen = tier;
  return chosen;
}

/** Rounds away float noise (e.g. 0.1 + 0.2) far below a billable amount. */
const round = (usd: number) => Math.round(usd * 1e12) / 1e12;

/**
 * USD for one call, or null when the model is not priced. Cached, image and audio tokens are
 * subsets of prompt tokens; reasoning tokens are inside completion tokens and not added again.
 */
export function costUsd(table: PriceTable, model: string, usage: Usage): number | null {
  const id = resolveModel(table, model);
  if (!id) return null;
  const price = table.models[id];
  const perImage = table.images[id];
  const tokenCount = usage.promptTokens + usage.completionTokens;
  if (usage.images && perImage && (!price || tokenCount === 0)) {
    const c = imageCost(perImage, usage.images);
    return c === null ? null : round(c);
  }
  if (!price) return null;

  const r = ratesFor(price, usage.promptTokens);
  const clamp = (n: number | undefined, max: number) => Math.max(0, Math.min(n ?? 0, max));
  const cached = clamp(usage.cachedTokens, usage.promptTokens);
  const image = clamp(usage.imageTokens, usage.promptTokens - cached);
  const audio = clamp(usage.audioTokens, usage.promptTokens - cached - image);
  const text = usage.promptTokens - cached - image - audio;
  const audioOut = clamp(usage.audioOutputTokens, usage.completionTokens);
  // Cached image and audio tokens are priced at the one cached rate: OpenAI's are the same for
  // text and audio on every model that has both (Realtime), to the cent.
  const perMillion =
    text * r.input +
    cached * (r.cached_input ?? r.input) +
    image * (r.image_input ?? r.input) +
    audio * (r.audio_input ?? r.input) +
    (usage.completionTokens - audioOut) * (r.output ?? 0) +
    audioOut * (r.audio_output ?? r.output ?? 0);
  const perMinute = price.per_minute && usage.audioSeconds ? (usage.audioSeconds / 60) * price.per_minute : 0;
  const perCharacter = price.per_million_characters && usage.characters ? (usage.characters / 1e6) * price.per_million_characters : 0;
  return round(perMillion / 1e6 + perMinute + perCharacter);
}
