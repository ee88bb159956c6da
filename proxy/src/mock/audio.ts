import { missing, NO_MODEL, type Reply } from './reply.js';
import type { Form } from './forms.js';
import type { SseEvent } from './sse.js';
import { tokens, type Json } from './util.js';

/** Audio the fake "hears" per uploaded byte: 16 kHz 16-bit mono PCM, 32,000 bytes a second. */
const BYTES_PER_SECOND = 32_000;
/** Audio tokens per second of speech, in and out (about OpenAI's ~1,250 a minute for gpt-4o-mini-tts). */
const AUDIO_TOKENS_PER_SECOND = 20;

/**
 * `POST /v1/audio/transcriptions` and `/translations` (multipart): whisper-1 reports usage by
 * duration, gpt-4o-*-transcribe by tokens (audio input apart), as the API does; `response_format`
 * text answers in plain text without usage.
 */
export function transcription(form: Form, translate: boolean): Reply {
  const model = form.fields['model'];
  if (!model) return NO_MODEL;
  const file = form.files.find((f) => f.field === 'file');
  if (!file) return missing('file');
  const seconds = Math.max(1, Math.round(file.bytes / BYTES_PER_SECOND));
  const text = `Transcript of ${file.filename} (${seconds} s).`;
  if (form.fields['response_format'] === 'text') return { kind: 'bytes', contentType: 'text/plain; charset=utf-8', body: Buffer.from(`${text}\n`) };
  if (translate) return { kind: 'json', body: { text } };
  if (model === 'whisper-1') return { kind: 'json', body: { text, usage: { type: 'duration', seconds } } };
  const audio = seconds * AUDIO_TOKENS_PER_SECOND;
  const prompt = tokens(form.fields['prompt'] ?? '');
  const output = tokens(text);
  return {
    kind: 'json',
    body: {
      text,
      usage: {
        type: 'tokens',
        input_tokens: audio + prompt,
        input_token_details: { text_tokens: prompt, audio_tokens: audio },
        output_tokens: output,
        total_tokens: audio + prompt + output,
      },
    },
  };
}

/**
 * `POST /v1/audio/speech`: audio bytes (a fake MP3 of the right length: 128 kbit/s at ~15
 * characters a second), or with `stream_format: "sse"` (not tts-1/tts-1-hd) delta events and a
 * `speech.audio.done` carrying usage, as gpt-4o-mini-tts reports it.
 */
export function speech(body: Json): Reply {
  if (typeof body.model !== 'string' || body.model === '') return NO_MODEL;
  if (typeof body.input !== 'string' || body.input === '') return missing('input');
  const seconds = Math.max(1, Math.ceil(body.input.length / 15));
  const audio = Buffer.alloc(seconds * 16_000, 0xff);
  if (body.stream_format !== 'sse') return { kind: 'bytes', contentType: 'audio/mpeg', body: audio };
  const events: SseEvent[] = [];
  for (let at = 0; at < audio.length; at += 8_000) events.push({ data: { type: 'speech.audio.delta', audio: audio.subarray(at, at + 8_000).toString('base64') } });
  const input = tokens(body.input) + tokens(typeof body.instructions === 'string' ? body.instructions : '');
  const output = seconds * AUDIO_TOKENS_PER_SECOND;
  events.push({ data: { type: 'speech.audio.done', usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } } });
  return { kind: 'sse', events };
}

/** `POST /v1/moderations`: nothing flagged, and no usage (the endpoint is free). */
export function moderations(body: Json): Reply {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const model = typeof body.model === 'string' ? body.model : 'omni-moderation-latest';
  return {
    kind: 'json',
    body: {
      id: 'modr-mock',
      model: model === 'omni-moderation-latest' ? 'omni-moderation-2024-09-26' : model,
      results: inputs.map(() => ({ flagged: false, categories: { harassment: false, violence: false }, category_scores: { harassment: 0.0001, violence: 0.0001 } })),
    },
  };
}
