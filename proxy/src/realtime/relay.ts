import WebSocket from 'ws';
import type { CallContext } from '../call/context.js';
import { recordCall } from '../call/record.js';
import type { AppDeps } from '../deps.js';
import { addUsage, fromRealtimeUsage } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';

/** Close codes a peer may send in a Close frame (RFC 6455 §7.4; 1005 and 1006 only describe one). */
const SENDABLE = (code: number) => (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
/** Upstream closes that end a session normally: any other is noted in the row's error_type. */
const NORMAL_CLOSE = new Set([1000, 1001, 1005]);

/**
 * Relays one Realtime session: every frame both ways as it comes (text stays text, binary stays
 * binary, payloads untouched), a close on either side closes the other with the same code and
 * reason, and a hang-up (no close frame) ends the other side at once. The session is one call-log
 * row, written when both sides are closed: its duration, and the usage of every `response.done`
 * event upstream sent, summed (audio and text tokens apart, so they are priced apart).
 */
export function relaySession(deps: AppDeps, ctx: CallContext, client: WebSocket, upstream: WebSocket): void {
  let usage: Usage | undefined;
  let sessionModel: string | undefined;
  let firstClose: { by: 'client' | 'upstream'; code: number } | undefined;
  let open = 2;

  client.on('message', (data, isBinary) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
  });
  upstream.on('message', (data, isBinary) => {
    if (!isBinary) observe(data as Buffer);
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });

  /** Reads the server events the bill needs; audio deltas (most of the traffic) are not parsed. */
  function observe(data: Buffer): void {
    const text = data.toString('utf8');
    const done = text.includes('"response.done"');
    if (!done && !text.includes('"session.')) return;
    let event: { type?: string; response?: { usage?: unknown }; session?: { model?: unknown } };
    try {
      event = JSON.parse(text) as typeof event;
    } catch {
      return;
    }
    if (event.type === 'response.done') {
      const u = fromRealtimeUsage(event.response?.usage);
      if (u) usage = addUsage(usage, u);
    } else if ((event.type === 'session.created' || event.type === 'session.updated') && typeof event.session?.model === 'string') {
      sessionModel = event.session.model;
    }
  }

  const onClose = (by: 'client' | 'upstream', other: WebSocket) => (code: number, reason: Buffer) => {
    if (!firstClose) {
      firstClose = { by, code };
      ctx.upstreamEndedAt = performance.now();
      // The caller may end its session with any code it likes; only a hang-up is an abort.
      if (by === 'client') ctx.clientAborted = code === 1006;
    }
    if (other.readyState === WebSocket.OPEN || other.readyState === WebSocket.CONNECTING) {
      if (SENDABLE(code)) other.close(code, reason);
      else if (code === 1005) other.close();
      else other.terminate();
    }
    if (--open === 0) finish();
  };
  client.on('close', onClose('client', upstream));
  upstream.on('close', onClose('upstream', client));
  // A socket error is followed by its close event, which ends the other side.
  client.on('error', () => client.terminate());
  upstream.on('error', (err) => {
    deps.logger.warn({ requestId: ctx.requestId, err: err.message }, 'realtime upstream connection failed');
    upstream.terminate();
  });

  function finish(): void {
    const code = firstClose?.code ?? 1005;
    const errorType = ctx.clientAborted ? 'client_aborted' : firstClose?.by === 'client' || NORMAL_CLOSE.has(code) ? null : `websocket_close_${code}`;
    recordCall(deps, ctx, { status: 101, usage, cacheStatus: 'bypass', errorType, responseModel: sessionModel });
  }
}
