import { createServer, type RequestListener } from 'node:http';
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
