import type { IncomingMessage } from 'node:http';
import { ProxyError } from '../errors.js';

/** Reads a request body into memory, refusing more than `limit` bytes with OpenAI's 413 shape. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ProxyError) throw err;
    // The caller hung up mid-upload: its call is logged as aborted, not as a proxy fault.
    throw new ClientAbortedError();
  }
  return Buffer.concat(chunks);
}

/** The caller disconnected before its request body arrived in full. */
export class ClientAbortedError extends Error {
  constructor() {
    super('The client closed the connection while sending the request body.');
    this.name = 'ClientAbortedError';
  }
}

function tooLarge(limit: number): ProxyError {
  return new ProxyError(413, `Request body exceeds the proxy's limit of ${limit} bytes (BODY_LIMIT_BYTES).`, 'invalid_request_error', 'request_too_large', null, false);
}

/** True for bodies the proxy parses (JSON); multipart uploads and binary bodies are streamed as they are. */
export function isJsonRequest(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  return type === '' || type.includes('application/json') || type.includes('+json');
}
