import type { IncomingMessage } from 'node:http';
import { ClientAbortedError, ProxyError, bodyTooLarge } from './errors.js';

/** Reads a request body into memory, refusing more than `limit` bytes with OpenAI's 413 shape. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(bodyTooLarge(limit));
  // Events rather than an async iterator: this runs on every JSON request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return fail(bodyTooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // The caller hung up mid-upload: its call is logged as aborted, not as a proxy fault.
    const onClose = () => fail(new ClientAbortedError());
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onClose);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onClose);
    req.on('close', onClose);
    if (req.readableEnded) onEnd();
  });
}

export { ClientAbortedError, ProxyError };

/** True for bodies the proxy parses (JSON); multipart uploads and binary bodies are streamed as they are. */
export function isJsonRequest(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  return type === '' || type.includes('application/json') || type.includes('+json');
}
