import type { AppDeps } from '../deps.js';
import { isReadEndpoint } from '../endpoint.js';
import type { CacheStatus, CallLogRow } from '../log/callLog.js';
import { costUsd } from '../pricing/cost.js';
import { BILLED_ENDPOINTS, FREE_ENDPOINTS, speechUsage } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
import { bodyTags, bodyUser } from './attribution.js';
import { elapsed, type CallContext } from './context.js';

export interface CallOutcome {
  status: number;
  usage: Usage | undefined;
  cacheStatus: CacheStatus;
  upstreamRequestId?: string | null;
  /** What the response would have cost upstream, for hits and replays (cost_saved_usd); null: unknown. */
  savedUsd?: number | null;
  errorType?: string | null;
  /** Response's model (a dated snapshot) when the request named none. */
  responseModel?: string;
}

/** The outcome of a call whose caller left before its answer (499, logged client_aborted). */
export function clientAbortedOutcome(ctx: CallContext): CallOutcome {
  ctx.clientAborted = true;
  return { status: 499, usage: undefined, cacheStatus: 'bypass', errorType: 'client_aborted' };
}

/**
 * Prices the call and hands one row to the batched call-log writer; never throws. The response's
 * held end (ctx.lastByte) goes once the row is in the spool file, or at once if it cannot be.
 */
export function recordCall(deps: AppDeps, ctx: CallContext, out: CallOutcome): void {
  let handedOver = false;
  try {
    const model = ctx.model ?? out.responseModel ?? '(none)';
    const usage = billedUsage(ctx, out);
    const served = out.cacheStatus === 'hit' || out.cacheStatus === 'idempotent_replay' || out.cacheStatus === 'coalesced';
    let cost: number | null;
    if (FREE_ENDPOINTS.has(ctx.endpoint) || isReadEndpoint(ctx.endpoint)) {
      // Moderations, reads and deletes are never billed, whatever model they name or return.
      cost = 0;
    } else if (served || out.status >= 400 || !usage || usage.source === 'none') {
      // Nothing billable happened upstream: a served copy, an error, or a call without usage (models).
      // A billed endpoint's success without readable usage is unknown, not free.
      if (served || out.status >= 400) cost = 0;
      else if (BILLED_ENDPOINTS.has(ctx.endpoint)) cost = null;
      else cost = ctx.model ? priced(deps, model, undefined) : 0;
    } else {
      cost = upstreamCost(deps, ctx, { usage, responseModel: out.responseModel });
    }
    const now = performance.now();
    const row: CallLogRow = {
      endpoint: ctx.endpoint,
      model,
      tokensPrompt: usage && usage.source !== 'none' ? usage.promptTokens : null,
      tokensCompletion: usage && usage.source !== 'none' ? usage.completionTokens : null,
      costUsd: cost,
      createdAt: new Date(),
      requestId: ctx.requestId,
      upstreamRequestId: out.upstreamRequestId ?? null,
      tenant: ctx.tenant,
      method: ctx.method,
      path: ctx.path.split('?')[0]!,
      statusCode: out.status,
      stream: ctx.stream,
      cacheStatus: out.cacheStatus,
      tokensCached: usage && usage.source !== 'none' ? usage.cachedTokens : null,
      tokensReasoning: usage && usage.source !== 'none' ? usage.reasoningTokens : null,
      costSavedUsd: served ? (out.savedUsd === undefined ? 0 : out.savedUsd) : 0,
      latencyMs: elapsed(ctx.startedAt, now),
      ttfbMs: elapsed(ctx.startedAt, ctx.firstByteAt),
      upstreamMs: elapsed(ctx.upstreamSentAt, ctx.upstreamEndedAt),
      usageSource: usage?.source ?? 'none',
      clientAborted: ctx.clientAborted,
      errorType: out.errorType ?? null,
      appUser: ctx.appUser ?? bodyUser(ctx.json) ?? null,
      tags: ctx.tags ?? bodyTags(ctx.json) ?? null,
    };
    deps.callLog.write(row, ctx.lastByte ? () => ctx.lastByte!.release() : undefined);
    handedOver = true;
    const m = deps.metrics;
    const endpoint = m.endpointLabel.of(row.endpoint);
    const modelLabel = m.modelLabel.of(row.model);
    m.requestsOf(endpoint, modelLabel, row.cacheStatus, String(row.statusCode)).inc();
    if (usage && usage.source !== 'none') {
      const t = m.tokensOf(endpoint, modelLabel);
      t.prompt.inc(usage.promptTokens);
      t.completion.inc(usage.completionTokens);
      t.cached.inc(usage.cachedTokens);
      t.reasoning.inc(usage.reasoningTokens);
    }
    if (cost) m.costOf(endpoint, modelLabel).inc(cost);
    if (row.costSavedUsd) m.savedOf(endpoint, row.cacheStatus).inc(row.costSavedUsd);
    if (cost === null) m.unpricedOf(modelLabel).inc();
    if (row.upstreamMs !== null) m.upstreamSecondsOf(endpoint, String(row.stream)).observe(row.upstreamMs / 1000);
  } catch (err) {
    deps.logger.error({ err: (err as Error).message, requestId: ctx.requestId }, 'could not record call');
  } finally {
    if (!handedOver) ctx.lastByte?.release();
  }
}

/**
 * The usage a row records: none for reads and deletes (a retrieved response's tokens were billed by
 * the call that made it), and for speech answered as audio, what its request says (speechUsage).
 */
function billedUsage(ctx: CallContext, out: CallOutcome): Usage | undefined {
  if (isReadEndpoint(ctx.endpoint)) return undefined;
  if (ctx.endpoint === 'audio.speech' && out.status < 400 && (!out.usage || out.usage.source === 'none')) return speechUsage(ctx.json);
  return out.usage;
}

/**
 * What the upstream call behind `out` cost: priced by the response's model (a dated snapshot) when
 * known, else the requested one; null when neither has a price. Rows and stored cache entries use
 * this same rule, so a hit's cost_saved_usd equals its miss's cost_usd.
 */
export function upstreamCost(deps: Pick<AppDeps, 'prices'>, ctx: CallContext, out: Pick<CallOutcome, 'usage' | 'responseModel'>): number | null {
  const usage = out.usage;
  if (FREE_ENDPOINTS.has(ctx.endpoint)) return 0;
  if (!usage || usage.source === 'none') return null;
  const model = ctx.model ?? out.responseModel;
  if (!model) return null;
  return priced(deps, out.responseModel ?? model, usage) ?? priced(deps, model, usage);
}

const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 0, source: 'none' };

/** Null for a model missing from the price table, so an unknown price never reads as free. */
function priced(deps: Pick<AppDeps, 'prices'>, model: string, usage: Usage | undefined): number | null {
  return costUsd(deps.prices, model, usage ?? NO_USAGE);
}
