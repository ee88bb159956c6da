import type { ServerResponse } from 'node:http';
import { constants, createGzip, type Gzip } from 'node:zlib';

/** Below this a gzip header and trailer (18 bytes) and the CPU are not worth it (compression's default). */
const MIN_BYTES = 1024;

/**
 * A gzip stream in front of `res` when the caller asked for gzip (Accept-Encoding) and the answer
 * is one the proxy had upstream send uncompressed (to read its usage): the caller gets the size it
 * would have had from upstream directly. Only for bodies sent whole (never an event stream, whose
 * events must not wait in a compressor), of a text type and of unknown or sufficient length.
 * Sets the response's encoding headers; undefined when the answer goes out as it is.
 */
export function gzipTowardClient(res: ServerResponse, contentType: string, declaredLength: number): Gzip | undefined {
  if (res.headersSent || !acceptsGzip(res.req?.headers['accept-encoding'])) return undefined;
  if (declaredLength < MIN_BYTES || res.hasHeader('content-encoding')) return undefined;
  if (!/json|^text\//i.test(contentType) || contentType.includes('text/event-stream')) return undefined;
  res.removeHeader('content-length');
  res.setHeader('content-encoding', 'gzip');
  const vary = res.getHeader('vary');
  res.setHeader('vary', vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding');
  const gz = createGzip({ level: constants.Z_DEFAULT_COMPRESSION });
  gz.on('error', () => res.destroy());
  // The caller left: the compressor must not wait for a drain that will never come.
  res.on('close', () => gz.destroy());
  gz.pipe(res);
  return gz;
}

/** Accept-Encoding lists gzip (or `*`) without `q=0`. */
function acceptsGzip(header: string | string[] | undefined): boolean {
  if (!header) return false;
  for (const item of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [coding, ...params] = item.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}
