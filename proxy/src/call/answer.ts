import type { ServerResponse } from 'node:http';
import type { AppDeps } from '../deps.js';
import type { CallContext } from './context.js';
import { ClientAbortedError, sendError, toProxyError } from './errors.js';
import { clientAbortedOutcome, type CallOutcome } from './record.js';

/**
 * Answers whatever a route threw, in OpenAI's error shape (toProxyError decides which), and says
 * what goes in the call's row. A caller that hung up gets nothing; its row says 499.
 */
export function answerThrown(deps: Pick<AppDeps, 'logger'>, res: ServerResponse, ctx: CallContext, err: unknown): CallOutcome {
  if (err instanceof ClientAbortedError || (ctx.clientAborted && res.destroyed)) {
    res.destroy();
    return clientAbortedOutcome(ctx);
  }
  const e = toProxyError(err);
  // What the caller is not told (a JS error, a malformed upstream body, a socket error) is logged.
  if (e.cause !== undefined && e.status >= 500) deps.logger.warn({ err: e.cause, requestId: ctx.requestId, endpoint: ctx.endpoint }, 'request failed');
  sendError(res, e);
  return { status: e.status, usage: undefined, cacheStatus: 'bypass', errorType: e.code ?? e.type };
}
