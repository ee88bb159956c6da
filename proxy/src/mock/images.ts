import { missing, type HandlerContext, type Reply } from './reply.js';
import { CREATED, tokens, type Json } from './util.js';

/** A valid 1×1 transparent PNG: enough for clients that decode b64_json. */
const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** Output tokens per gpt-image image by quality, square vs. portrait/landscape (the API's figures). */
const IMAGE_TOKENS: Record<string, [number, number]> = { low: [272, 408], medium: [1056, 1584], high: [4160, 6240] };

/** `POST /v1/images/generations`: dall-e-2/3 without usage, gpt-image-* with `ImagesUsage`. */
export function imageGenerations(body: Json, ctx: HandlerContext): Reply {
  if (typeof body.prompt !== 'string' || body.prompt === '') return missing('prompt');
  const model = typeof body.model === 'string' && body.model !== '' ? body.model : 'dall-e-2';
  const n = typeof body.n === 'number' && body.n >= 1 ? Math.floor(body.n) : 1;

  if (model.startsWith('gpt-image')) {
    const quality = typeof body.quality === 'string' && body.quality in IMAGE_TOKENS ? body.quality : 'medium';
    const size = typeof body.size === 'string' && body.size !== 'auto' ? body.size : '1024x1024';
    const perImage = IMAGE_TOKENS[quality]![size === '1024x1024' ? 0 : 1];
    const input = tokens(body.prompt);
    return {
      kind: 'json',
      body: {
        created: CREATED,
        background: body.background === 'transparent' ? 'transparent' : 'opaque',
        data: Array.from({ length: n }, () => ({ b64_json: PIXEL_PNG })),
        output_format: body.output_format ?? 'png',
        quality,
        size,
        usage: {
          input_tokens: input,
          input_tokens_details: { text_tokens: input, image_tokens: 0 },
          output_tokens: perImage * n,
          total_tokens: input + perImage * n,
        },
      },
    };
  }

  const b64 = body.response_format === 'b64_json';
  return {
    kind: 'json',
    body: {
      created: CREATED,
      data: Array.from({ length: n }, (_, i) => ({
        ...(b64 ? { b64_json: PIXEL_PNG } : { url: `https://mock-openai.invalid/images/${ctx.hash.slice(0, 16)}-${i}.png` }),
        // dall-e-3 rewrites prompts and says so.
        ...(model === 'dall-e-3' ? { revised_prompt: `A detailed rendering of: ${body.prompt}` } : {}),
      })),
    },
  };
}
