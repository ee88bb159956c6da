import type { AppDeps } from '../../deps.js';
import { errors as undiciErrors } from 'undici';
import { ProxyError, serverShuttingDown, upstreamAnswered, upstreamTimeout } from '../../call/errors.js';

/** Per-request options for the shared openai SDK client (deps.openai, over the /v1 upstream stack). */
export interface UpstreamCallOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
}

/**
 * Runs one upstream call of Tollgate's own routes with the caller's key (Authorization / api-key),
 * else OPENAI_API_KEY (with neither: 401), cancelled when `cancel` aborts (the caller left) and,
 * with `deadlineMs`, when the whole call (head and body) takes longer: a 504, not a hang.
 */
export async function callUpstream<T>(
  deps: Pick<AppDeps, 'config' | 'draining'>,
  credential: string | undefined,
  opts: { cancel?: AbortSignal; deadlineMs?: number },
  call: (options: UpstreamCallOptions) => Promise<T>,
): Promise<T> {
  const apiKey = credential ?? deps.config.OPENAI_API_KEY;
  if (!apiKey) {
    throw new ProxyError({ status: 401, message: 'No API key: send Authorization: Bearer <key>, or configure OPENAI_API_KEY.', code: 'missing_api_key' });
  }
  const deadline = opts.deadlineMs ? AbortSignal.timeout(opts.deadlineMs) : undefined;
  const signals = [opts.cancel, deadline].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
  try {
    return await call({ headers: { authorization: `Bearer ${apiKey}` }, signal });
  } catch (err) {
    if ((deadline?.aborted || causedByTimeout(err)) && !opts.cancel?.aborted) throw upstreamTimeout(err);
    // The shutdown cancelled it at its grace deadline: not upstream's failure.
    if (deps.draining && !opts.cancel?.aborted && !(err instanceof ProxyError) && !upstreamAnswered(err)) throw serverShuttingDown();
    throw err;
  }
}

/** The connection's own body timeout (UPSTREAM_TIMEOUT_MS between chunks) may fire before the deadline; it is a timeout too. */
function causedByTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof undiciErrors.BodyTimeoutError || e instanceof undiciErrors.HeadersTimeoutError) return true;
  }
  return false;
}
