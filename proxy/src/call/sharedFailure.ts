import type { ServerResponse } from 'node:http';
import { sendStored, type StoredResponse } from '../sse/stored.js';
import type { CallOutcome } from './record.js';
import type { CallContext } from './context.js';

/**
 * Answers a caller that waited on another caller's identical attempt which failed (a 429, a 5xx):
 * the same answer, at once, rather than every waiter retrying a failing upstream. Logged as
 * coalesced: this caller made no upstream call.
 */
export function sendSharedFailure(res: ServerResponse, ctx: CallContext, stored: StoredResponse, headers: Record<string, string> = {}): CallOutcome {
  ctx.firstByteAt = performance.now();
  sendStored(res, stored, headers);
  return { status: stored.status, usage: undefined, cacheStatus: 'coalesced', errorType: `upstream_${stored.status}` };
}
