import { usageFromJsonTail } from '../src/usage/tail.js';
import { estimateUsage, fromCompletionUsage, fromResponseUsage, promptTextOf, usageFromJson } from '../src/usage/extract.js';

describe('fromCompletionUsage', () => {
  it('normalises CompletionUsage with details', () => {
    expect(
      fromCompletionUsage({
        prompt_tokens: 1000,
        completion_tokens: 500,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 200, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 300, audio_tokens: 0 },
      }),
    ).toEqual({ promptTokens: 1000, completionTokens: 500, cachedTokens: 200, reasoningTokens: 300, totalTokens: 1500, source: 'reported' });
  });

  it('accepts embeddings usage (no completion tokens) and keeps audio input', () => {
    expect(fromCompletionUsage({ prompt_tokens: 7, total_tokens: 7 })).toMatchObject({ promptTokens: 7, completionTokens: 0, totalTokens: 7 });
    expect(fromCompletionUsage({ prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { audio_tokens: 6 } })?.audioTokens).toBe(6);
  });

  it.each([undefined, null, 'x', {}, { prompt_tokens: 'many' }, { prompt_tokens: -1 }])('rejects %j', (u) => {
    expect(fromCompletionUsage(u)).toBeUndefined();
  });
});

describe('fromResponseUsage', () => {
  it('normalises ResponseUsage', () => {
    expect(
      fromResponseUsage({
        input_tokens: 37,
        input_tokens_details: { cached_tokens: 5 },
        output_tokens: 11,
        output_tokens_details: { reasoning_tokens: 4 },
        total_tokens: 48,
      }),
    ).toEqual({ promptTokens: 37, completionTokens: 11, cachedTokens: 5, reasoningTokens: 4, totalTokens: 48, source: 'reported' });
  });

  it('is defensive about missing details and totals', () => {
    expect(fromResponseUsage({ input_tokens: 37, output_tokens: 11 })).toEqual({
      promptTokens: 37, completionTokens: 11, cachedTokens: 0, reasoningTokens: 0, totalTokens: 48, source: 'reported',
    });
    expect(fromResponseUsage({ prompt_tokens: 3 })).toBeUndefined();
  });
});

describe('usageFromJson', () => {
  const chat = { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } };

  it('reads chat, legacy completions, embeddings and responses bodies', () => {
    expect(usageFromJson('chat.completions', chat, {})).toMatchObject({ promptTokens: 3, completionTokens: 2, source: 'reported' });
    expect(usageFromJson('completions', chat, {})).toMatchObject({ totalTokens: 5 });
    expect(usageFromJson('embeddings', { usage: { prompt_tokens: 8, total_tokens: 8 } }, {})).toMatchObject({ promptTokens: 8, completionTokens: 0 });
    expect(usageFromJson('responses', { usage: { input_tokens: 4, output_tokens: 6, total_tokens: 10 } }, {})).toMatchObject({
      promptTokens: 4,
      completionTokens: 6,
    });
  });

  it('gives source none with zeros for other endpoints and for bodies without usage', () => {
    const zero = { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 0, source: 'none' };
    expect(usageFromJson('models', chat, {})).toEqual(zero);
    expect(usageFromJson('moderations', { results: [] }, {})).toEqual(zero);
    expect(usageFromJson('chat.completions', { choices: [] }, {})).toEqual(zero);
    expect(usageFromJson('chat.completions', 'not json', {})).toEqual(zero);
  });

  it('counts dall-e images from the request with defaults', () => {
    expect(usageFromJson('images.generations', { created: 1, data: [{ url: 'a' }, { url: 'b' }] }, { model: 'dall-e-3', n: 2 })).toEqual({
      promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 0,
      images: { count: 2, size: '1024x1024', quality: 'standard' },
      source: 'reported',
    });
    expect(usageFromJson('images.generations', { data: [{ url: 'a' }] }, { size: '1792x1024', quality: 'hd' }).images).toEqual({
      count: 1, size: '1792x1024', quality: 'hd',
    });
  });

  it('reads gpt-image ImagesUsage, with image input tokens, and the resolved quality', () => {
    const u = usageFromJson(
      'images.edits',
      {
        data: [{ b64_json: 'x' }],
        quality: 'low',
        size: '1024x1024',
        usage: { input_tokens: 50, input_tokens_details: { text_tokens: 10, image_tokens: 40 }, output_tokens: 272, total_tokens: 322 },
      },
      { quality: 'auto' },
    );
    expect(u).toMatchObject({ promptTokens: 50, completionTokens: 272, imageTokens: 40, images: { count: 1, quality: 'low', size: '1024x1024' } });
  });

  it('reads transcription usage by tokens or by duration', () => {
    expect(
      usageFromJson('audio.transcriptions', { text: 'hi', usage: { type: 'tokens', input_tokens: 20, input_token_details: { text_tokens: 0, audio_tokens: 20 }, output_tokens: 2, total_tokens: 22 } }, undefined),
    ).toMatchObject({ promptTokens: 20, audioTokens: 20, completionTokens: 2 });
    expect(usageFromJson('audio.transcriptions', { text: 'hi', usage: { type: 'duration', seconds: 42 } }, undefined)).toMatchObject({
      audioSeconds: 42,
      source: 'reported',
    });
  });
});

describe('estimation', () => {
  it('uses ceil(chars / 4) and zero for empty text', () => {
    expect(estimateUsage('abcdefghi', '')).toEqual({
      promptTokens: 3, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 3, source: 'estimated',
    });
    expect(estimateUsage('', 'abcd')).toMatchObject({ promptTokens: 0, completionTokens: 1, totalTokens: 1 });
  });

  it('collects the text of chat, responses, embeddings and legacy requests', () => {
    expect(
      promptTextOf({
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'http://x' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: '1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        ],
      }),
    ).toBe('sys\nlook\n{"a":1}');
    expect(
      promptTextOf({
        instructions: 'be brief',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }, { type: 'function_call_output', call_id: 'c', output: 'ok' }],
      }),
    ).toBe('be brief\nhi\nok');
    expect(promptTextOf({ input: ['a', 'b'] })).toBe('a\nb');
    expect(promptTextOf({ input: [1, 2, 3] })).toBe('');
    expect(promptTextOf({ prompt: 'legacy' })).toBe('legacy');
    expect(promptTextOf(null)).toBe('');
  });
});

describe('usageFromJsonTail', () => {
  it('reads the last top-level usage object from the end of a body', () => {
    const tail = 'AAAA"},{"object":"embedding","index":3,"embedding":"usage"}],"model":"text-embedding-3-large","usage":{"prompt_tokens":19480,"total_tokens":19480}}';
    expect(usageFromJsonTail('embeddings', tail)).toMatchObject({ promptTokens: 19480, completionTokens: 0, source: 'reported' });
    const responses = '..."usage":{"input_tokens":10,"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":15}}';
    expect(usageFromJsonTail('responses', responses)).toMatchObject({ promptTokens: 10, completionTokens: 5, reasoningTokens: 2 });
  });

  it('gives undefined when the tail has no complete usage object', () => {
    expect(usageFromJsonTail('embeddings', '"data":[1,2,3]}')).toBeUndefined();
    expect(usageFromJsonTail('embeddings', '"usage":{"prompt_tokens":1')).toBeUndefined();
    expect(usageFromJsonTail('embeddings', '"usage":null}')).toBeUndefined();
  });
});
