import express, { type Request, type Response } from 'express';
import type OpenAI from 'openai';
import { z } from 'zod';
import type { AppDeps } from '../../deps.js';
import { answerThrown } from '../../call/answer.js';
import { callerGone } from '../../call/callerGone.js';
import { openCall, type CallContext } from '../../call/context.js';
import { invalidRequest, upstreamWrongBody } from '../../call/errors.js';
import { recordCall, type CallOutcome } from '../../call/record.js';
import { openSse, sseErrorEvent } from '../../call/sse.js';
import type { Served } from '../../idempotency/guard.js';
import { costUsd } from '../../pricing/cost.js';
import { analyseStream } from '../../sse/assemble.js';
import { replayableHeaders } from '../../sse/stored.js';
import { estimateUsage, fromCompletionUsage, promptTextOf } from '../../usage/extract.js';
import { callUpstream } from '../personas/upstream.js';

export const CHAT_STREAM_PATH = '/api/chat/stream';
const ENDPOINT = 'chat.stream';
const SSE_TYPE = 'text/event-stream; charset=utf-8';

const bodySchema = z.object({
  messages: z
    .array(
      z.looseObject({
        role: z.enum(['system', 'developer', 'user', 'assistant'], { error: "each message's role must be system, developer, user or assistant" }),
        content: z.string({ error: "each message's content must be a string" }),
      }),
      { error: 'messages must be an array of { role, content }' },
    )
    .min(1, { error: 'messages must not be empty' })
    .max(500, { error: 'at most 500 messages' }),
  model: z.string().min(1).max(200).optional(),
});
type ChatStreamBody = z.infer<typeof bodySchema>;

/**
 * `POST /chat/stream` `{ messages, model? }` → `text/event-stream`: the upstream chat completion's
 * `data:` events piped to the caller as they arrive (usage chunk included: the proxy asks for it),
 * ending with `data: [DONE]`. Model defaults to CHAT_STREAM_MODEL. Logs one `chat.stream` row with
 * the stream's usage and cost. An `Idempotency-Key` (the guard every POST route shares) stores the
 * recorded stream (only a cleanly finished one) and replays it with `Idempotent-Replayed: true`. A
 * client that disconnects cancels the upstream call (logged client_aborted). An upstream that
 * sends nothing for UPSTREAM_TIMEOUT_MS between chunks is cancelled, and the stream ends with an
 * SSE error event (`upstream_timeout`); a cut stream ends with one too (`upstream_interrupted`).
 * Such a row has usage_source 'estimated': the prompt from the request, the completion from the
 * text relayed.
 */
export function chatStreamRouter(deps: AppDeps): express.Router {
  const router = express.Router();
  router.post('/chat/stream', async (req: Request, res: Response) => {
    const ctx = openCall(req, res, { endpoint: ENDPOINT });
    ctx.stream = true;
    let outcome: CallOutcome;
    try {
      const body = parseBody(req.body);
      ctx.model = body.model ?? deps.config.CHAT_STREAM_MODEL;
      const guard = await deps.stores.keys.enter(req, res, ctx, { path: CHAT_STREAM_PATH, body: req.body });
      const keyed = req.headers['idempotency-key'] !== undefined;
      outcome = guard.answered ?? (await guard.run((settle) => stream(deps, res, ctx, body, keyed, settle))).outcome;
    } catch (err) {
      outcome = answerThrown(deps, res, ctx, err);
    }
    recordCall(deps, ctx, outcome);
  });
  return router;
}

/** One upstream chat stream, relayed; settled (stored under a key) only when it finished cleanly. */
async function stream(deps: AppDeps, res: Response, ctx: CallContext, body: ChatStreamBody, keyed: boolean, settle: (s: Served) => Promise<void>): Promise<Served> {
  const model = ctx.model!;
  // Cancels the upstream call when the caller leaves, or when upstream goes quiet (armIdle).
  const abort = new AbortController();
  const gone = callerGone(res, () => {
    ctx.clientAborted = true;
    abort.abort();
  });
  ctx.upstreamSentAt = performance.now();
  const upstream = await callUpstream(deps, ctx.credential, { cancel: AbortSignal.any([abort.signal, gone]) }, (options) =>
    deps.openai.chat.completions
      .create({ model, messages: body.messages as OpenAI.ChatCompletionMessageParam[], stream: true, stream_options: { include_usage: true } }, options)
      .asResponse(),
  );
  const headers = replayableHeaders(upstream.headers);
  const contentType = upstream.headers.get('content-type') ?? '';
  if (!contentType.includes('text/event-stream')) {
    // A success that is no event stream (an HTML page from a broken gateway) is no answer to relay.
    await upstream.body?.cancel().catch(() => undefined);
    ctx.upstreamEndedAt = performance.now();
    deps.logger.warn({ requestId: ctx.requestId, contentType }, 'upstream answered a chat stream with something else');
    throw upstreamWrongBody('an event stream', contentType);
  }
  if (headers['x-request-id']) res.setHeader('x-upstream-request-id', headers['x-request-id']);
  openSse(res);

  const decoder = new TextDecoder();
  let transcript = '';
  let failed = false;
  // The SDK's timeout covers the wait for the response head only; between chunks it is ours.
  let idleTimer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, deps.config.UPSTREAM_TIMEOUT_MS);
  };
  armIdle();
  try {
    for await (const bytes of upstream.body as unknown as AsyncIterable<Uint8Array>) {
      armIdle();
      const text = decoder.decode(bytes, { stream: true });
      if (text === '') continue;
      ctx.firstByteAt ??= performance.now();
      transcript += text;
      if (!res.writableEnded && !res.destroyed) res.write(text);
    }
    transcript += decoder.decode();
  } catch (err) {
    failed = true;
    if (!ctx.clientAborted) deps.logger.warn({ err: (err as Error)?.message, timedOut, requestId: ctx.requestId }, 'chat stream cut short upstream');
  } finally {
    clearTimeout(idleTimer);
  }
  ctx.upstreamEndedAt = performance.now();

  const assembled = analyseStream('chat', transcript);
  // A stream that ended without [DONE] and finished choices was cut, even without a socket error.
  const cut = failed || (!assembled.complete && !assembled.errored);
  const errorType = ctx.clientAborted ? 'client_aborted' : timedOut ? 'upstream_timeout' : cut ? 'upstream_interrupted' : assembled.errored ? 'stream_error' : null;
  // Without the usage chunk (a cut stream, a client that left), what was paid for is estimated:
  // the prompt from the request, the completion from the text relayed so far.
  const usage = fromCompletionUsage(assembled.usage) ?? estimateUsage(promptTextOf(body), completionTextOf(assembled.json));
  const responseModel = typeof assembled.json?.['model'] === 'string' ? (assembled.json['model'] as string) : undefined;
  const served: Served = {
    outcome: { status: 200, usage, cacheStatus: keyed ? 'miss' : 'bypass', upstreamRequestId: headers['x-request-id'] ?? null, errorType, ...(responseModel ? { responseModel } : {}) },
    // Only a cleanly finished stream may be replayed.
    stored: assembled.complete && errorType === null ? { status: 200, headers, contentType: SSE_TYPE, sseText: transcript } : undefined,
    costUsd: costUsd(deps.prices, responseModel ?? model, usage) ?? costUsd(deps.prices, model, usage),
  };
  if (!res.writableEnded && !res.destroyed) {
    // The SDK turns an error event into an APIError instead of waiting for a [DONE] that never comes.
    if (errorType === 'upstream_timeout') res.write(sseErrorEvent(`The upstream API sent nothing for ${deps.config.UPSTREAM_TIMEOUT_MS} ms.`, 'timeout_error', 'upstream_timeout'));
    else if (errorType === 'upstream_interrupted') res.write(sseErrorEvent('The upstream stream was interrupted.', 'server_error', 'upstream_interrupted'));
  }
  if (!res.writableEnded) res.end();
  await settle(served);
  return served;
}

function parseBody(raw: unknown): ChatStreamBody {
  const parsed = bodySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  if (!raw || typeof raw !== 'object') throw invalidRequest('The body must be a JSON object: { messages, model? }.', { code: 'invalid_body' });
  const issue = parsed.error.issues[0]!;
  throw invalidRequest(issue.message, { param: issue.path.join('.') || null, code: 'invalid_value' });
}

/** The text of an assembled chat completion's choices (content, refusal, tool-call arguments), for estimating its tokens. */
function completionTextOf(json: Record<string, unknown> | undefined): string {
  const choices = Array.isArray(json?.['choices']) ? (json['choices'] as Array<{ message?: Record<string, unknown> }>) : [];
  const messages = choices.map(({ message = {} }) => ({
    ...message,
    content: [message['content'], message['refusal']].filter((v): v is string => typeof v === 'string'),
  }));
  return promptTextOf({ messages });
}
