import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalUpstream {
  /** Base URL for UPSTREAM_BASE_URL, ending in /v1. */
  url: string;
  close(): Promise<void>;
}

/** A hand-written upstream on 127.0.0.1, for answers the fake upstream does not give. */
export async function startLocalUpstream(handler: RequestListener): Promise<LocalUpstream> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * Resolves `settleMs` after the `n`th request reached `server` (the proxy under test). A herd test
 * holds its upstream's first answer on it, so that the answer comes when every caller is already
 * waiting on that attempt: one that arrived after it would be a retry, and rightly run again. A
 * fixed upstream delay instead flaked on a busy machine.
 */
export function afterArrivals(server: Server, n: number, settleMs = 500): Promise<void> {
  let arrived = 0;
  return new Promise((resolve) => {
    server.on('request', () => {
      if (++arrived === n) setTimeout(resolve, settleMs);
    });
  });
}

/** OpenAI's answer to a rate-limited request. */
export function answerRateLimited(res: ServerResponse, retryAfter: string): void {
  res.writeHead(429, { 'content-type': 'application/json', 'retry-after': retryAfter });
  res.end(JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } }));
}
