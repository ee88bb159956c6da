import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { costUsd, loadPriceTable, resolveModel, type PriceTable } from '../src/pricing/cost.js';
import { addUsage, fromRealtimeUsage, speechUsage } from '../src/usage/extract.js';
import type { Usage } from '../src/usage/types.js';

const table: PriceTable = loadPriceTable();

function usage(prompt: number, completion: number, extra: Partial<Usage> = {}): Usage {
  return { promptTokens: prompt, completionTokens: completion, cachedTokens: 0, reasoningTokens: 0, totalTokens: prompt + completion, source: 'reported', ...extra };
}

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-prices-')), name);
  writeFileSync(file, content);
  return file;
}

describe('price table', () => {
  it('is versioned and covers the documented models', () => {
    expect(table.version).toBe('2026-12-02');
    for (const id of [
      'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o1', 'o1-mini', 'o3', 'o3-mini', 'o4-mini',
      'gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.1', 'gpt-5.2', 'gpt-5.4', 'gpt-5.4-mini', 'gpt-5.4-nano', 'gpt-5.5',
      'text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002', 'gpt-image-1', 'gpt-image-1-mini',
      'whisper-1', 'gpt-4o-transcribe', 'gpt-4o-mini-transcribe', 'tts-1', 'tts-1-hd', 'gpt-4o-mini-tts',
      'gpt-realtime', 'gpt-realtime-mini', 'gpt-4o-realtime-preview', 'gpt-4o-mini-realtime-preview',
    ]) {
      expect(table.models[id]).toBeDefined();
    }
    expect(table.models['gpt-4o']).toEqual({ input: 2.5, cached_input: 1.25, output: 10, as_of: '2026-08-21', source: 'genai-prices' });
  });

  it('dates every price and names where it came from', () => {
    for (const [id, price] of Object.entries(table.models)) {
      expect([id, price.as_of]).toEqual([id, expect.stringMatching(/^20\d\d-\d\d-\d\d$/)]);
      expect(table.sources[price.source!]).toEqual(expect.any(String));
    }
  });

  it("takes an operator's override without dates or sources", () => {
    const merged = loadPriceTable(tempFile('undated.json', JSON.stringify({ models: { 'acme-llm': { input: 1 } } })));
    expect(merged.models['acme-llm']).toEqual({ input: 1 });
    expect(merged.sources['genai-prices']).toEqual(expect.any(String));
    expect(table.images['dall-e-3']?.['standard/1024x1024']).toBe(0.04);
    expect(table.images['dall-e-2']?.['standard/256x256']).toBe(0.016);
  });
});

describe('resolveModel', () => {
  it.each([
    ['gpt-4o', 'gpt-4o'],
    ['gpt-4o-2024-08-06', 'gpt-4o'],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['gpt-4.1-nano-2025-04-14', 'gpt-4.1-nano'],
    ['o3-mini-2025-01-31', 'o3-mini'],
    ['o1-0912', 'o1'],
    ['gpt-4o-latest', 'gpt-4o'],
    ['GPT-4o', 'gpt-4o'],
    ['openai/gpt-5-mini', 'gpt-5-mini'],
    ['dall-e-3', 'dall-e-3'],
    ['gpt-4o-realtime-preview-2024-12-17', 'gpt-4o-realtime-preview'],
    ['gpt-realtime-2025-08-28', 'gpt-realtime'],
  ])('%s → %s', (model, id) => {
    expect(resolveModel(table, model)).toBe(id);
  });

  it.each(['gpt-4o-mini-search-preview', 'gpt-4', 'claude-3-opus', 'gpt-4ox', ''])(
    'does not guess a price for %j',
    (model) => {
      expect(resolveModel(table, model)).toBeUndefined();
    },
  );
});

describe('costUsd', () => {
  it('bills cached prompt tokens at the cached rate as a subset of prompt tokens', () => {
    const cost = costUsd(table, 'gpt-4o', usage(1000, 500, { cachedTokens: 200 }));
    expect(cost).toBe((800 * 2.5 + 200 * 1.25 + 500 * 10) / 1e6);
  });

  it('prices a dated snapshot like its alias', () => {
    expect(costUsd(table, 'gpt-4o-mini-2024-07-18', usage(1_000_000, 1_000_000))).toBeCloseTo(0.15 + 0.6, 12);
  });

  it('does not add reasoning tokens on top of completion tokens', () => {
    const withReasoning = costUsd(table, 'o4-mini', usage(100, 300, { reasoningTokens: 200 }));
    expect(withReasoning).toBeCloseTo((100 * 1.1 + 300 * 4.4) / 1e6, 12);
    expect(withReasoning).toBe(costUsd(table, 'o4-mini', usage(100, 300)));
  });

  it('returns null for an unknown model', () => {
    expect(costUsd(table, 'mystery-model', usage(10, 10))).toBeNull();
  });

  it('prices embeddings on input only', () => {
    expect(costUsd(table, 'text-embedding-3-small', usage(500_000, 0))).toBeCloseTo(0.01, 12);
  });

  it('uses the long-context tier above its threshold', () => {
    expect(costUsd(table, 'gpt-5.4', usage(100_000, 1000))).toBeCloseTo((100_000 * 2.5 + 1000 * 15) / 1e6, 12);
    expect(costUsd(table, 'gpt-5.4', usage(300_000, 1000))).toBeCloseTo((300_000 * 5 + 1000 * 22.5) / 1e6, 12);
  });

  it('caps cached tokens at the prompt size and falls back to the input rate without a cached price', () => {
    expect(costUsd(table, 'o3-pro', usage(1000, 0, { cachedTokens: 5000 }))).toBeCloseTo((1000 * 20) / 1e6, 12);
  });

  describe('images', () => {
    it('prices dall-e per image by quality and size', () => {
      const img = (count: number, size?: string, quality?: string): Usage => ({ ...usage(0, 0), images: { count, size, quality } });
      expect(costUsd(table, 'dall-e-3', img(2, '1024x1024', 'standard'))).toBeCloseTo(0.08, 12);
      expect(costUsd(table, 'dall-e-3', img(1, '1792x1024', 'hd'))).toBeCloseTo(0.12, 12);
      expect(costUsd(table, 'dall-e-3', img(1))).toBeCloseTo(0.04, 12);
      expect(costUsd(table, 'dall-e-2', img(3, '512x512', 'standard'))).toBeCloseTo(0.054, 12);
      expect(costUsd(table, 'dall-e-2', img(1, '4096x4096', 'standard'))).toBeNull();
    });

    it('prefers reported tokens for gpt-image models, image input at its own rate', () => {
      const u = usage(100, 272, { imageTokens: 40, images: { count: 1, size: '1024x1024', quality: 'low' } });
      expect(costUsd(table, 'gpt-image-1', u)).toBeCloseTo((60 * 5 + 40 * 10 + 272 * 40) / 1e6, 12);
      // Without token counts it falls back to the per-image price.
      expect(costUsd(table, 'gpt-image-1', { ...usage(0, 0), images: { count: 2, size: '1024x1024', quality: 'high' } })).toBeCloseTo(0.334, 12);
    });
  });

  it('prices audio input tokens and whisper minutes', () => {
    expect(costUsd(table, 'gpt-4o-transcribe', usage(1000, 100, { audioTokens: 900 }))).toBeCloseTo((100 * 2.5 + 900 * 6 + 100 * 10) / 1e6, 12);
    expect(costUsd(table, 'whisper-1', { ...usage(0, 0), audioSeconds: 90 })).toBeCloseTo(0.009, 12);
  });

  it('prices tts-1 and tts-1-hd by characters, gpt-4o-mini-tts by tokens', () => {
    const speech = speechUsage({ model: 'tts-1', input: 'x'.repeat(4096), voice: 'alloy' })!;
    // The measured bill: 4,096 characters of tts-1 cost USD 0.06144 (15 per 1M).
    expect(costUsd(table, 'tts-1', speech)).toBeCloseTo(0.06144, 12);
    expect(costUsd(table, 'tts-1-hd', speech)).toBeCloseTo(0.12288, 12);
    expect(speech).toMatchObject({ promptTokens: 1024, completionTokens: 6144, characters: 4096, source: 'estimated' });
    expect(costUsd(table, 'gpt-4o-mini-tts', speech)).toBeCloseTo((1024 * 0.6 + 6144 * 12) / 1e6, 12);
  });

  it('prices Realtime audio and text tokens apart, cached ones at the cached rate', () => {
    const u = fromRealtimeUsage({
      total_tokens: 400,
      input_tokens: 300,
      output_tokens: 100,
      input_token_details: { text_tokens: 100, audio_tokens: 200, cached_tokens: 150, cached_tokens_details: { text_tokens: 50, audio_tokens: 100 } },
      output_token_details: { text_tokens: 30, audio_tokens: 70 },
    })!;
    expect(u).toMatchObject({ promptTokens: 300, cachedTokens: 150, audioTokens: 100, completionTokens: 100, audioOutputTokens: 70 });
    // gpt-realtime: text in 4, cached 0.4, audio in 32, text out 16, audio out 64 per 1M.
    expect(costUsd(table, 'gpt-realtime-2025-08-28', u)).toBeCloseTo((50 * 4 + 150 * 0.4 + 100 * 32 + 30 * 16 + 70 * 64) / 1e6, 12);
    const twice = addUsage(u, u);
    expect(costUsd(table, 'gpt-realtime', twice)).toBeCloseTo(2 * costUsd(table, 'gpt-realtime', u)!, 12);
  });
});

describe('override file', () => {
  it('merges over the built-in table per model', () => {
    const file = tempFile(
      'prices.json',
      JSON.stringify({ version: 'acme-1', models: { 'gpt-4o': { input: 2, output: 8 }, 'acme-llm': { input: 1, output: 2 } }, images: {} }),
    );
    const merged = loadPriceTable(file);
    expect(merged.version).toBe('acme-1');
    expect(merged.models['gpt-4o']).toEqual({ input: 2, output: 8 });
    expect(merged.models['gpt-4o-mini']).toEqual(table.models['gpt-4o-mini']);
    expect(costUsd(merged, 'acme-llm', usage(1_000_000, 1_000_000))).toBeCloseTo(3, 12);
    // No cached price in the override: cached tokens are billed at the input rate.
    expect(costUsd(merged, 'gpt-4o-2024-08-06', usage(1000, 0, { cachedTokens: 1000 }))).toBeCloseTo(0.002, 12);
    expect(merged.images['dall-e-3']).toEqual(table.images['dall-e-3']);
  });

  it('marks the version when the override does not name one', () => {
    expect(loadPriceTable(tempFile('p.json', JSON.stringify({ models: {} }))).version).toBe('2026-12-02+override');
  });

  it.each([
    ['not JSON', '{ nope', /not valid JSON/],
    ['a negative price', JSON.stringify({ models: { x: { input: -1 } } }), /models\.x\.input/],
    ['a misspelt field', JSON.stringify({ models: { x: { input: 1, ouput: 2 } } }), /models\.x/],
    ['a bad image key', JSON.stringify({ images: { x: { '1024x1024': 1 } } }), /images\.x\.1024x1024/],
  ])('rejects %s naming the file', (_what, content, pattern) => {
    const file = tempFile('bad.json', content);
    expect(() => loadPriceTable(file)).toThrow(pattern);
    expect(() => loadPriceTable(file)).toThrow(file);
  });

  it('names a missing file', () => {
    expect(() => loadPriceTable('/nonexistent/prices.json')).toThrow(/Cannot read price file \/nonexistent\/prices\.json/);
  });
});
