import type { ServerResponse } from 'node:http';

/**
 * A signal that aborts when the caller disconnects before its answer is complete, including a
 * caller already gone when this is called (its 'close' has fired before anyone listened).
 * `onGone` runs once when it does.
 */
export function callerGone(res: ServerResponse, onGone?: () => void): AbortSignal {
  const gone = new AbortController();
  if (onGone) gone.signal.addEventListener('abort', onGone, { once: true });
  if (res.req.socket.destroyed && !res.writableFinished) gone.abort();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  return gone.signal;
}
