import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import busboy from 'busboy';
import { bodyTooLarge } from '../call/errors.js';

const MiB = 1024 * 1024;
/** Room for the multipart envelope (boundaries, part headers, small fields) around a file at its limit. */
const FORM_ENVELOPE = MiB;

/**
 * OpenAI's own size limits for the endpoints that take uploads (read 2026-12-02 from the API
 * reference): a file up to 512 MB, an Uploads part up to 64 MB, audio up to 25 MB, images edits up
 * to 16 images of 50 MB (gpt-image), a variation's PNG under 4 MB (dall-e-2). These bodies are
 * streamed upstream, never held, so the limits only keep the proxy from relaying what OpenAI
 * would refuse anyway. Every other body has BODY_LIMIT_BYTES.
 */
const UPLOAD_LIMITS: ReadonlyMap<string, number> = new Map([
  ['files', 512 * MiB + FORM_ENVELOPE],
  ['uploads.item.parts', 64 * MiB + FORM_ENVELOPE],
  ['audio.transcriptions', 25 * MiB + FORM_ENVELOPE],
  ['audio.translations', 25 * MiB + FORM_ENVELOPE],
  ['images.edits', 16 * 50 * MiB + FORM_ENVELOPE],
  ['images.variations', 4 * MiB + FORM_ENVELOPE],
]);

/** The largest body an endpoint takes as an upload, or undefined for JSON-only endpoints. */
export function uploadLimit(endpoint: string): number | undefined {
  return UPLOAD_LIMITS.get(endpoint);
}

/** Which setting or rule a 413 names: an upload endpoint's own limit, or BODY_LIMIT_BYTES. */
export function limitName(endpoint: string): string {
  return UPLOAD_LIMITS.has(endpoint) ? `OpenAI's limit for ${endpoint}` : 'BODY_LIMIT_BYTES';
}

/** Endpoints whose multipart form names the model (priced by it). */
const MODEL_IN_FORM = new Set(['audio.transcriptions', 'audio.translations', 'images.edits', 'images.variations']);

/**
 * Reads the `model` field of a multipart form from a copy of the bytes as they stream past. File
 * parts are skipped, never kept; parsing stops at the model field (SDKs send it before or after the
 * file, as the caller's object lists them). A form the parser cannot read just yields no model:
 * upstream is the judge of the request.
 */
export class FormModelReader {
  model: string | undefined;
  private parser: busboy.Busboy | undefined;

  constructor(contentType: string | undefined, private readonly onModel: (model: string) => void) {
    try {
      this.parser = busboy({ headers: { 'content-type': contentType ?? '' }, limits: { fieldSize: 1024, fields: 64 } });
    } catch {
      return;
    }
    this.parser.on('field', (name, value) => {
      if (name === 'model' && this.model === undefined) {
        this.model = value;
        this.onModel(value);
        this.stop();
      }
    });
    this.parser.on('file', (_name, file) => file.resume());
    this.parser.on('error', () => this.stop());
  }

  static for(endpoint: string, req: IncomingMessage, onModel: (model: string) => void): FormModelReader | undefined {
    const type = req.headers['content-type'];
    return MODEL_IN_FORM.has(endpoint) && /^multipart\/form-data/i.test(type ?? '') ? new FormModelReader(type, onModel) : undefined;
  }

  write(chunk: Buffer): void {
    this.parser?.write(chunk);
  }

  end(): void {
    this.parser?.end();
  }

  private stop(): void {
    const p = this.parser;
    this.parser = undefined;
    p?.removeAllListeners('field');
    // Further chunks go nowhere; the parser's own buffers are released.
    p?.on('error', () => {});
    p?.destroy();
  }
}

/**
 * The request body as a stream that refuses more than `limit` bytes (413), showing each chunk to
 * `seen` on the way (the form's model, an upload's fingerprint).
 */
export function limitStream(req: IncomingMessage, limit: number, setting: string, seen?: (chunk: Buffer) => void, ended?: () => void): Readable {
  let size = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > limit) return cb(bodyTooLarge(limit, setting));
      seen?.(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      ended?.();
      cb();
    },
  });
  req.on('error', (err) => limiter.destroy(err));
  return req.pipe(limiter);
}
