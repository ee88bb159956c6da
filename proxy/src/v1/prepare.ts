import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import { readBody, isJsonRequest } from '../call/body.js';
import type { CallContext } from '../call/context.js';
import { bodyTooLarge, invalidRequest, tooDeep } from '../call/errors.js';
import { hasInexactNumber, memberValueSpan, nestsDeeperThan, parseExact } from './jsonText.js';
import { spoolUpload } from './uploadFile.js';
import { FormModelReader, limitName, limitStream, uploadLimit } from './uploads.js';

/** Endpoints whose requests must name a model, as upstream would insist anyway. */
const MODEL_REQUIRED = new Set(['chat.completions', 'completions', 'responses', 'embeddings', 'audio.speech']);

/** Deepest JSON body the proxy compares (cache key, Idempotency-Key fingerprint); real requests nest a few dozen levels. */
const MAX_COMPARED_DEPTH = 512;

/** A request, parsed and checked, ready to go upstream. */
export interface PreparedRequest {
  ctx: CallContext;
  /** Body to forward: bytes as received (or with one option added), or the raw stream. */
  body: Buffer | Readable | undefined;
  /** The proxy added stream_options.include_usage and must hide its effect from the caller. */
  injectedUsage: boolean;
  /** The forwarded body is no longer the caller's encoded one: drop Content-Encoding upstream. */
  decodedBody: boolean;
  /** Frees what the body holds (a keyed upload's temporary file); called once the call has ended. */
  release?: () => void;
}

const INVALID_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)";

/** Reads and validates the caller's request. Throws ProxyError (4xx) for what upstream would refuse. */
export async function prepareRequest(req: IncomingMessage, ctx: CallContext, limit: number): Promise<PreparedRequest> {
  const prepared = (body: PreparedRequest['body'], injectedUsage = false, decodedBody = false): PreparedRequest => ({ ctx, body, injectedUsage, decodedBody });
  if (hasDotSegment(ctx.path)) throw invalidRequest(`Invalid URL (${ctx.method} ${ctx.path.split('?')[0]})`, { code: 'invalid_url' });
  const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  if (ctx.method !== 'POST') {
    // Only the Responses API streams on a GET (`/responses/{id}?stream=true`).
    ctx.stream = ctx.endpoint.startsWith('responses') && /(?:^|&)stream=true(?:&|$)/.test(ctx.path.split('?')[1] ?? '');
    return prepared(hasBody ? limitStream(req, limit, 'BODY_LIMIT_BYTES') : undefined);
  }
  if (!isJsonRequest(req)) return prepareUpload(req, ctx, limit);
  const raw = await readBody(req, limit);
  // A UTF-8 byte order mark is legal before JSON for upstream's parser; JSON.parse refuses it.
  const decoded = await decodeBody(raw, req.headers['content-encoding'], limit);
  const text = decoded.toString('utf8').replace(/^\uFEFF/, '');
  if (text.length === 0) {
    if (MODEL_REQUIRED.has(ctx.endpoint)) throw invalidRequest('you must provide a model parameter', { param: 'model' });
    return prepared(raw);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidRequest(INVALID_JSON, { code: 'invalid_json' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidRequest('The request body must be a JSON object.', { code: 'invalid_json' });
  const json = parsed as Record<string, unknown>;
  ctx.json = json;
  ctx.jsonText = text;
  if (json['model'] !== undefined && typeof json['model'] !== 'string') throw invalidRequest('model must be a string', { param: 'model' });
  // The Images API falls back to dall-e-2 when no model is named: priced and logged as such.
  ctx.model = (json['model'] as string | undefined) ?? (ctx.endpoint.startsWith('images.') ? 'dall-e-2' : undefined);
  if (!ctx.model && MODEL_REQUIRED.has(ctx.endpoint)) throw invalidRequest('you must provide a model parameter', { param: 'model' });
  ctx.stream = json['stream'] === true;
  const opts = json['stream_options'] as Record<string, unknown> | undefined;
  if (ctx.stream && (ctx.endpoint === 'chat.completions' || ctx.endpoint === 'completions') && opts?.['include_usage'] !== true) {
    // Without this option a chat stream carries no usage at all; ask for it and hide it again.
    return prepared(Buffer.from(withIncludeUsage(text, json)), true, true);
  }
  return prepared(raw);
}

/**
 * A non-JSON body (a multipart upload, a binary part): streamed upstream as it arrives, within its
 * endpoint's upload limit (BODY_LIMIT_BYTES elsewhere). The model a form names is read from a copy
 * of the bytes on the way. With an Idempotency-Key the upload goes to a temporary file first, for
 * its fingerprint (uploadFile.ts).
 */
async function prepareUpload(req: IncomingMessage, ctx: CallContext, jsonLimit: number): Promise<PreparedRequest> {
  const limit = uploadLimit(ctx.endpoint) ?? jsonLimit;
  const setting = limitName(ctx.endpoint);
  const declared = Number(req.headers['content-length'] ?? NaN);
  // Refused before a byte is read: a 26 MB audio file is not streamed anywhere to be refused.
  if (declared > limit) throw bodyTooLarge(limit, setting);
  // The Images API falls back to dall-e-2 when no model is named: priced and logged as such.
  if (ctx.endpoint.startsWith('images.')) ctx.model = 'dall-e-2';
  const form = FormModelReader.for(ctx.endpoint, req, (model) => (ctx.model = model));
  const body = limitStream(req, limit, setting, form && ((chunk) => form.write(chunk)), form && (() => form.end()));
  const base = { ctx, injectedUsage: false, decodedBody: false };
  if (req.headers['idempotency-key'] === undefined) return { ...base, body };
  const spooled = await spoolUpload(body, req.headers['content-type']);
  ctx.bodyDigest = spooled.digest;
  return { ...base, body: spooled.body, release: spooled.release };
}

/**
 * The body as requests are compared for the cache key and the Idempotency-Key fingerprint: the
 * parsed JSON, except that numbers a double would round keep their literal (requests differing
 * only in a 20-digit seed are different requests); a held upload's digest; else nothing.
 */
export function comparableBody(ctx: CallContext): unknown {
  if (ctx.jsonText === undefined) return ctx.bodyDigest ?? null;
  if (nestsDeeperThan(ctx.jsonText, MAX_COMPARED_DEPTH)) throw tooDeep();
  return hasInexactNumber(ctx.jsonText) ? parseExact(ctx.jsonText) : ctx.json;
}

/**
 * The caller's JSON text with `stream_options.include_usage: true`. The member is spliced into the
 * text rather than re-serialising the body, so numbers JSON.parse cannot hold exactly (a 20-digit
 * seed) and the caller's formatting reach upstream unchanged.
 */
function withIncludeUsage(text: string, json: Record<string, unknown>): string {
  const opts = json['stream_options'];
  const span = opts === undefined ? undefined : memberValueSpan(text, 'stream_options');
  if (!span) {
    const brace = text.indexOf('{');
    return `${text.slice(0, brace + 1)}"stream_options":{"include_usage":true},${text.slice(brace + 1)}`;
  }
  // The caller sent stream_options without include_usage: only that member's value is rewritten.
  const value = opts && typeof opts === 'object' ? { ...opts, include_usage: true } : { include_usage: true };
  return `${text.slice(0, span.start)}${JSON.stringify(value)}${text.slice(span.end)}`;
}

/** Content-Encoding of a request body, undone for parsing; the limit applies to the decoded size too. */
async function decodeBody(raw: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  if (encoding === undefined) return raw;
  const e = encoding.trim().toLowerCase();
  if (e === '' || e === 'identity') return raw;
  const opts = { maxOutputLength: limit };
  try {
    if (e === 'gzip' || e === 'x-gzip') return await promisify(gunzip)(raw, opts);
    if (e === 'deflate') return await promisify(inflate)(raw, opts);
    if (e === 'br') return await promisify(brotliDecompress)(raw, opts);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw bodyTooLarge(limit, 'BODY_LIMIT_BYTES', ' once decompressed');
    throw invalidRequest(`The request body could not be decoded as ${e}.`, { code: 'invalid_content_encoding' });
  }
  throw invalidRequest(`Unsupported Content-Encoding: ${e}.`, { status: 415, code: 'unsupported_content_encoding' });
}

/** `.` or `..` path segments (also percent-encoded) would be resolved away before reaching upstream. */
function hasDotSegment(path: string): boolean {
  if (!path.includes('.') && !path.includes('%')) return false;
  return path
    .split('?')[0]!
    .split('/')
    .some((seg) => /^(?:\.|%2e){1,2}$/i.test(seg));
}
