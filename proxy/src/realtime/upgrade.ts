import { IncomingMessage, STATUS_CODES, ServerResponse, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { openCall, type CallContext } from '../call/context.js';
import { recordCall } from '../call/record.js';
import type { AppDeps } from '../deps.js';
import { upstreamRequestHeaders } from '../v1/headers.js';
import { relaySession } from './relay.js';

/** The one WebSocket route of the OpenAI API. */
const REALTIME_PATH = /^(?:\/v1)?\/realtime(?:\?|$)/;

/**
 * Handles HTTP upgrades on `server`: the Realtime API's WebSocket (`/v1/realtime?model=…`) is
 * proxied to upstream's; another WebSocket path is refused in OpenAI's error shape, another
 * protocol's upgrade offer answered over HTTP/1.1. Once `server.close()` is called (shutdown),
 * open sessions are ended with 1001 (going away), so that their rows are written before the
 * server's close completes.
 */
export function attachRealtime(server: Server, deps: AppDeps): void {
  // No server of its own: the proxy's HTTP server hands it the sockets it accepts.
  // The client gets the subprotocol upstream agreed to, and only that one.
  const agreed = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (_offered, req) => agreed.get(req) ?? false });
  const requestIds = new WeakMap<IncomingMessage, string>();
  wss.on('headers', (headers, req) => headers.push(`x-tollgate-request-id: ${requestIds.get(req)}`));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      onUpgrade(req, socket, head);
    } catch (err) {
      // Nothing thrown here may take the server down; the caller just loses this connection.
      deps.logger.error({ err: (err as Error).message }, 'upgrade failed');
      socket.destroy();
    }
  });
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const websocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if (!websocket) return plainRequest(server, req, socket, head);
    socket.on('error', () => socket.destroy());
    const ctx = openCall(req, undefined, { endpoint: 'realtime' });
    requestIds.set(req, ctx.requestId);
    ctx.upstreamPath = req.url!.replace(/^\/v1(?=\/)/, '');
    ctx.stream = true;
    if (!REALTIME_PATH.test(req.url ?? '')) {
      ctx.endpoint = 'websocket';
      refuse(socket, 404, `Invalid URL (${req.method} ${(req.url ?? '/').split('?')[0]}): only /v1/realtime takes a WebSocket upgrade.`, 'invalid_url');
      recordCall(deps, ctx, { status: 404, usage: undefined, cacheStatus: 'bypass', errorType: 'invalid_url' });
      return;
    }
    ctx.model = new URLSearchParams(req.url!.split('?')[1] ?? '').get('model') ?? undefined;
    openUpstream(deps, ctx, req, socket, (upstream) => {
      if (upstream.protocol) agreed.set(req, upstream.protocol);
      wss.handleUpgrade(req, socket, head, (client) => {
        ctx.firstByteAt = performance.now();
        relaySession(deps, ctx, client, upstream);
      });
    });
  }
  // Upgraded sockets are not the HTTP server's to close: a session would hold close() open.
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    for (const client of wss.clients) client.close(1001, 'server shutting down');
    return close(callback);
  };
}

/**
 * Another protocol's upgrade (`Upgrade: h2c`, which curl --http2 offers): declined, the way a
 * server without an upgrade handler declines it, by answering the request over HTTP/1.1. Node's
 * parser stops at an upgrade's head and hands over what follows (the body) as raw bytes, so the
 * request is given again, as a fresh message carrying that body (Content-Length framed).
 */
function plainRequest(server: Server, offer: IncomingMessage, socket: Duplex, head: Buffer): void {
  const req = new IncomingMessage(socket as Socket);
  Object.assign(req, { method: offer.method, url: offer.url, headers: offer.headers, rawHeaders: offer.rawHeaders, httpVersionMajor: 1, httpVersionMinor: 1, httpVersion: '1.1' });
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.on('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  if (offer.headers['transfer-encoding'] !== undefined) {
    // Chunked framing is the parser's job, and the parser has let go of this socket.
    req.push(null);
    res.statusCode = 400;
    res.setHeader('content-type', 'application/json');
    res.end(errorJson('Send this request without `Upgrade`: a chunked body cannot be read after an upgrade offer.', 'unsupported_upgrade'));
    return;
  }
  let remaining = Number(offer.headers['content-length'] ?? 0) || 0;
  const feed = (chunk: Buffer) => {
    const part = chunk.subarray(0, remaining);
    remaining -= part.length;
    if (part.length) req.push(part);
    if (remaining > 0) return;
    socket.off('data', feed);
    req.complete = true;
    req.push(null);
  };
  feed(head);
  if (remaining > 0) socket.on('data', feed).resume();
  server.emit('request', req, res);
}

/**
 * Opens the upstream WebSocket with the caller's key (or the proxy's, as for HTTP) and its OpenAI
 * headers. A refusal upstream (401, 404, 429…) is relayed to the caller as upstream sent it; an
 * unreachable upstream is a 502. Either way the attempt is one call-log row.
 */
function openUpstream(deps: AppDeps, ctx: CallContext, req: IncomingMessage, socket: Duplex, onOpen: (upstream: WebSocket) => void): void {
  const headers = upstreamRequestHeaders(req.headers, { fallbackApiKey: deps.config.OPENAI_API_KEY, identityEncoding: false });
  for (const name of Object.keys(headers)) if (name.startsWith('sec-websocket-')) delete headers[name];
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const url = deps.config.UPSTREAM_BASE_URL.replace(/^http/, 'ws').replace(/\/$/, '') + ctx.upstreamPath;
  ctx.upstreamSentAt = performance.now();
  const upstream = new WebSocket(url, protocols, {
    headers: headers as Record<string, string>,
    perMessageDeflate: false,
    handshakeTimeout: deps.config.UPSTREAM_CONNECT_TIMEOUT_MS + deps.config.UPSTREAM_TIMEOUT_MS,
  });
  let settled = false;
  const fail = (status: number, body: string, contentType: string, errorType: string, requestId?: string) => {
    if (settled) return;
    settled = true;
    ctx.upstreamEndedAt = performance.now();
    ctx.firstByteAt = ctx.upstreamEndedAt;
    writeHttp(socket, status, body, contentType, requestId);
    recordCall(deps, ctx, { status, usage: undefined, cacheStatus: 'bypass', errorType, upstreamRequestId: requestId ?? null });
  };
  upstream.once('open', () => {
    if (settled) return upstream.terminate();
    settled = true;
    if (socket.destroyed) {
      // The caller left while upstream was answering.
      ctx.clientAborted = true;
      upstream.close(1001);
      recordCall(deps, ctx, { status: 499, usage: undefined, cacheStatus: 'bypass', errorType: 'client_aborted' });
      return;
    }
    onOpen(upstream);
  });
  upstream.once('unexpected-response', (_req, res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const status = res.statusCode ?? 502;
      const requestId = res.headers['x-request-id'];
      fail(status, Buffer.concat(chunks).toString('utf8'), res.headers['content-type'] ?? 'application/json', `upstream_${status}`, typeof requestId === 'string' ? requestId : undefined);
      upstream.terminate();
    });
    res.on('error', () => fail(502, errorJson('The upstream API could not be reached.', 'upstream_unreachable'), 'application/json', 'upstream_unreachable'));
  });
  upstream.once('error', (err) => {
    deps.logger.warn({ requestId: ctx.requestId, err: err.message }, 'realtime upstream failed');
    fail(502, errorJson('The upstream API could not be reached.', 'upstream_unreachable'), 'application/json', 'upstream_unreachable');
  });
  socket.once('close', () => {
    if (settled) return;
    // Gone before upstream answered: no session to relay.
    settled = true;
    ctx.clientAborted = true;
    upstream.terminate();
    recordCall(deps, ctx, { status: 499, usage: undefined, cacheStatus: 'bypass', errorType: 'client_aborted' });
  });
}

function errorJson(message: string, code: string): string {
  return JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });
}

function refuse(socket: Duplex, status: number, message: string, code: string): void {
  writeHttp(socket, status, errorJson(message, code), 'application/json');
}

/** A plain HTTP answer on a socket that asked for an upgrade (no 101: the connection then closes). */
function writeHttp(socket: Duplex, status: number, body: string, contentType: string, requestId?: string): void {
  if (socket.destroyed) return;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    `Content-Type: ${contentType}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(requestId ? [`x-request-id: ${requestId}`] : []),
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
