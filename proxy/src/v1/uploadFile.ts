import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClientAbortedError, ProxyError } from '../call/errors.js';
import { RawBodyDigest } from '../idempotency/keys.js';

/** An upload written to a temporary file, with the fingerprint its bytes gave on the way. */
export interface SpooledUpload {
  digest: string;
  /** The upload read back from the file, to forward. */
  body: Readable;
  /** Closes the file, which frees it (the body may never be read: a replayed key answers without upstream). */
  release(): void;
}

/**
 * Writes an upload to a temporary file while computing its Idempotency-Key fingerprint. A keyed
 * upload cannot go upstream before its fingerprint is known (a retry of it must be answered from
 * the first one's result, another upload under the same key refused), and it may be 512 MB: on disk
 * it costs no memory. The file's name is removed as soon as it is written; its space is freed once
 * the request ends.
 */
export async function spoolUpload(body: Readable, contentType: string | undefined): Promise<SpooledUpload> {
  const path = join(tmpdir(), `tollgate-upload-${randomUUID()}`);
  const remove = () => void unlink(path).catch(() => {});
  const digest = new RawBodyDigest(contentType);
  body.on('data', (chunk: Buffer) => digest.update(chunk));
  try {
    await pipeline(body, createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    remove();
    if (err instanceof ProxyError) throw err;
    // The caller hung up mid-upload (or the disk failed: logged as the same aborted call).
    throw new ClientAbortedError();
  }
  // Opened before the name is removed: the open file stays readable, and no path is left behind
  // whatever happens to the request next (the file's space is freed when the stream closes).
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } finally {
    remove();
  }
  const spooled = handle.createReadStream();
  // Read errors reach whoever reads it (undici); unread, nothing may go unheard.
  spooled.on('error', () => {});
  return { digest: digest.digest(), body: spooled, release: () => spooled.destroy() };
}
