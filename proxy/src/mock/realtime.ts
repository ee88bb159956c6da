import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorBody, faultBody } from './errors.js';
import { tokens } from './util.js';

/** Realtime sessions the fake has open, and the handshakes it saw (for tests). */
export interface RealtimeStats {
  sessions: number;
  handshakes: Array<{ url: string; authorization?: string; protocol?: string; beta?: string }>;
}

/**
 * The Realtime API over WebSocket (`/v1/realtime?model=…`), enough of it for clients and the
 * proxy: `session.created` on connect; each `response.create` answers with a short text and audio
 * response ending in `response.done` with usage split into text/audio and cached tokens; binary
 * frames are echoed as binary; a `mock.close` client event closes with its `code` and `reason`.
 * A handshake without a key is refused with 401, an unknown path with 404, as the API does.
 */
export function attachMockRealtime(server: Server, stats: RealtimeStats): void {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered].find((p) => p === 'realtime') ?? false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://mock');
    const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const keyProtocol = protocols.find((p) => p.startsWith('openai-insecure-api-key.'));
    stats.handshakes.push({ url: req.url ?? '/', authorization: req.headers.authorization, protocol: req.headers['sec-websocket-protocol'], beta: req.headers['openai-beta'] as string | undefined });
    if (url.pathname !== '/v1/realtime') return refuse(socket, 404, errorBody(`Invalid URL (GET ${url.pathname})`, 'invalid_request_error'));
    if (!/^Bearer\s+\S+/i.test(req.headers.authorization ?? '') && !keyProtocol) {
      return refuse(socket, 401, errorBody("You didn't provide an API key.", 'invalid_request_error', null, 'invalid_api_key'));
    }
    const fault = Number(req.headers['x-mock-error']);
    if (fault >= 400 && fault <= 599) return refuse(socket, fault, faultBody(fault));
    const model = url.searchParams.get('model') ?? 'gpt-realtime';
    wss.handleUpgrade(req, socket, head, (ws) => session(ws, model, stats));
  });
  server.on('close', () => {
    for (const ws of wss.clients) ws.terminate();
  });
}

function refuse(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nx-request-id: req_mock_realtime\r\nConnection: close\r\n\r\n${text}`);
}

function session(ws: WebSocket, model: string, stats: RealtimeStats): void {
  stats.sessions++;
  ws.on('close', () => stats.sessions--);
  let seq = 0;
  const send = (event: Record<string, unknown>) => ws.send(JSON.stringify({ event_id: `event_${++seq}`, ...event }));
  send({ type: 'session.created', session: { id: 'sess_mock', object: 'realtime.session', model, modalities: ['text', 'audio'] } });
  let responses = 0;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return ws.send(data, { binary: true });
    let event: { type?: string; code?: number; reason?: string; response?: { instructions?: string } };
    try {
      event = JSON.parse(String(data)) as typeof event;
    } catch {
      return send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_json', message: 'Invalid JSON' } });
    }
    if (event.type === 'mock.close') return ws.close(event.code ?? 1000, event.reason ?? '');
    if (event.type !== 'response.create') return;
    responses++;
    const id = `resp_mock_${responses}`;
    const text = `Mock realtime reply ${responses} from ${model}.`;
    send({ type: 'response.created', response: { id, object: 'realtime.response', status: 'in_progress', usage: null } });
    send({ type: 'response.output_text.delta', response_id: id, delta: text });
    send({ type: 'response.output_audio.delta', response_id: id, delta: Buffer.alloc(4800).toString('base64') });
    const textIn = 10 + tokens(event.response?.instructions ?? '');
    const audioIn = 40;
    const cachedText = responses > 1 ? 8 : 0;
    const cachedAudio = responses > 1 ? 32 : 0;
    const textOut = tokens(text);
    const audioOut = 60;
    send({
      type: 'response.done',
      response: {
        id,
        object: 'realtime.response',
        status: 'completed',
        usage: {
          total_tokens: textIn + audioIn + textOut + audioOut,
          input_tokens: textIn + audioIn,
          output_tokens: textOut + audioOut,
          input_token_details: {
            text_tokens: textIn,
            audio_tokens: audioIn,
            image_tokens: 0,
            cached_tokens: cachedText + cachedAudio,
            cached_tokens_details: { text_tokens: cachedText, audio_tokens: cachedAudio, image_tokens: 0 },
          },
          output_token_details: { text_tokens: textOut, audio_tokens: audioOut },
        },
      },
    });
  });
}
