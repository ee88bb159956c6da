import { randomUUID } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import OpenAI from 'openai';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { badRequest, ProxyError, sendError } from '../errors.js';
import {
  idempotencyKeyHash,
  keyInProgressError,
  keyMismatchError,
  parseIdempotencyKey,
  requestFingerprint,
} from '../idempotency/keys.js';
import type { IdempotencyLease, IdempotencyStore } from '../idempotency/store.js';
import { apiCallContext, openaiFor, upstreamAnswered, upstreamError } from '../personas/upstream.js';
import { costUsd } from '../pricing/cost.js';
import { clientAbortedOutcome, recordCall } from '../proxy/callRecord.js';
import { callerGone } from '../proxy/callerGone.js';
import { sendSharedFailure } from '../proxy/sharedFailure.js';
import { analyseStream } from '../sse/assemble.js';
import { sseErrorEvent } from '../sse/broadcaster.js';
import { replayableHeaders, sendStored } from '../sse/stored.js';
import { estimateUsage, fromCompletionUsage, promptTextOf } from '../usage/extract.js';

export const CHAT_STREAM_PATH = '/api/chat/stream';
const ENDPOINT = 'chat.stream';

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

/**
 * `POST /chat/stream` `{ messages, model? }` → `text/event-stream`: the upstream chat completion's
 * `data:` events piped to the caller as they arrive (usage chunk included: the proxy asks for it),
 * ending with `data: [DONE]`. Model defaults to CHAT_STREAM_MODEL. Logs one `chat.stream` row with
 * the stream's usage and cost. An `Idempotency-Key` stores the recorded stream (only a cleanly
 * finished one) and replays it with `Idempotent-Replayed: true`. A client that disconnects
 * cancels the upstream call (logged client_aborted). An upstream that sends nothing for
 * UPSTREAM_TIMEOUT_MS between chunks is cancelled, and the stream ends with an SSE error event
 * (`upstream_timeout`); a cut stream ends with one too (`upstream_interrupted`). Such a row has
 * usage_source 'estimated': the prompt from the request, the completion from the text relayed.
 */
export function chatStreamRouter(deps: AppDeps, services: { idempotency: IdempotencyStore }): express.Router {
  const router = express.Router();
  const cfg = deps.config;

  router.post('/chat/stream', async (req: Request, res: Response) => {
    const ctx = apiCallContext(req, ENDPOINT, randomUUID());
    ctx.stream = true;
    res.setHeader('x-tollgate-request-id', ctx.requestId);
    let lease: IdempotencyLease | undefined;
    try {
      const parsed = bodySchema.safeParse(req.body);
      if (!parsed.success) {
        if (!req.body || typeof req.body !== 'object') throw badRequest('The body must be a JSON object: { messages, model? }.', null, 'invalid_body');
        const issue = parsed.error.issues[0]!;
        throw badRequest(issue.message, issue.path.join('.') || null, 'invalid_value');
      }
      const model = parsed.data.model ?? cfg.CHAT_STREAM_MODEL;
      ctx.model = model;
      const key = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
      // Cancels the upstream call when the caller leaves, or when upstream goes quiet (armIdle).
      const abort = new AbortController();
      const gone = callerGone(res, () => {
        ctx.clientAborted = true;
        abort.abort();
      });
      if (key !== undefined) {
        const keyHash = idempotencyKeyHash(key);
        const r = await services.idempotency.acquire(
          {
            tenant: ctx.tenant,
            requestHash: keyHash,
            keyHash,
            fingerprint: requestFingerprint('POST', CHAT_STREAM_PATH, req.body),
            method: 'POST',
            path: CHAT_STREAM_PATH,
            endpoint: ENDPOINT,
            ttlSeconds: cfg.IDEMPOTENCY_TTL_SECONDS,
          },
          cfg.IDEMPOTENCY_WAIT_MS,
          gone,
        );
        if (r.kind === 'abandoned') return recordCall(deps, ctx, clientAbortedOutcome(ctx));
        if (r.kind === 'mismatch') throw keyMismatchError();
        if (r.kind === 'in_progress') throw keyInProgressError();
        if (r.kind === 'failed') return recordCall(deps, ctx, sendSharedFailure(res, ctx, r.stored));
        if (r.kind === 'replay') {
          ctx.firstByteAt = performance.now();
          sendStored(res, r.stored, { 'Idempotent-Replayed': 'true', Age: String(r.ageSeconds), 'x-tollgate-request-id': ctx.requestId });
          recordCall(deps, ctx, {
            status: r.stored.status,
            // The original call's tokens, as a cache hit carries them (cost 0, cost_saved_usd its cost).
            usage: r.stored.status === 200 ? r.usage : undefined,
            cacheStatus: r.waited ? 'coalesced' : 'idempotent_replay',
            savedUsd: r.costUsd,
          });
          return;
        }
        lease = r.lease;
      }

      const client = openaiFor(deps, ctx.credential);
      ctx.upstreamSentAt = performance.now();
      let upstream: globalThis.Response;
      try {
        upstream = await client.chat.completions
          .create({ model, messages: parsed.data.messages as OpenAI.ChatCompletionMessageParam[], stream: true, stream_options: { include_usage: true } }, { signal: abort.signal })
          .asResponse();
      } catch (err) {
        const e = upstreamError(err);
        if (lease) await services.idempotency.fail(lease, e, upstreamAnswered(err));
        lease = undefined;
        throw e;
      }

      const headers = replayableHeaders(upstream.headers);
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('X-Accel-Buffering', 'no');
      if (headers['x-request-id']) res.setHeader('x-upstream-request-id', headers['x-request-id']);
      res.flushHeaders();
      req.socket.setNoDelay(true);

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
        }, cfg.UPSTREAM_TIMEOUT_MS);
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

      const outcome = analyseStream('chat', transcript);
      // A stream that ended without [DONE] and finished choices was cut, even without a socket error.
      const cut = failed || (!outcome.complete && !outcome.errored);
      const errorType = ctx.clientAborted ? 'client_aborted' : timedOut ? 'upstream_timeout' : cut ? 'upstream_interrupted' : outcome.errored ? 'stream_error' : null;
      if (!res.writableEnded && !res.destroyed) {
        // The SDK turns an error event into an APIError instead of waiting for a [DONE] that never comes.
        if (errorType === 'upstream_timeout') {
          res.write(sseErrorEvent(`The upstream API sent nothing for ${cfg.UPSTREAM_TIMEOUT_MS} ms.`, 'timeout_error', 'upstream_timeout'));
        } else if (errorType === 'upstream_interrupted') {
          res.write(sseErrorEvent('The upstream stream was interrupted.', 'server_error', 'upstream_interrupted'));
        }
      }
      if (!res.writableEnded) res.end();
      if (lease) services.idempotency.answered(lease);

      // Without the usage chunk (a cut stream, a client that left), what was paid for is estimated:
      // the prompt from the request, the completion from the text relayed so far.
      const usage = fromCompletionUsage(outcome.usage) ?? estimateUsage(promptTextOf(parsed.data), completionTextOf(outcome.json));
      const responseModel = typeof outcome.json?.['model'] === 'string' ? (outcome.json['model'] as string) : undefined;
      if (lease) {
        if (outcome.complete && errorType === null) {
          const cost = costUsd(deps.prices, responseModel ?? model, usage) ?? costUsd(deps.prices, model, usage);
          await services.idempotency.complete(lease, { status: 200, headers, contentType: 'text/event-stream; charset=utf-8', sseText: transcript }, cost, usage);
        } else await services.idempotency.release(lease);
        lease = undefined;
      }
      recordCall(deps, ctx, {
        status: 200,
        usage,
        cacheStatus: key !== undefined ? 'miss' : 'bypass',
        upstreamRequestId: headers['x-request-id'] ?? null,
        errorType,
        ...(responseModel ? { responseModel } : {}),
      });
    } catch (err) {
      if (lease) await services.idempotency.release(lease).catch(() => undefined);
      const e = upstreamError(err);
      if (!(err instanceof ProxyError) && e.status >= 500) deps.logger.warn({ err: (err as Error)?.message, requestId: ctx.requestId }, 'chat stream failed');
      sendError(res, e);
      recordCall(deps, ctx, { status: e.status, usage: undefined, cacheStatus: 'bypass', errorType: e.code ?? e.type });
    }
  });

  return router;
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
