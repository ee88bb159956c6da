import type { AppDeps } from '../deps.js';
import type { CacheStatus, CallLogRow } from '../log/callLog.js';
import { costUsd } from '../pricing/cost.js';
import { BILLED_ENDPOINTS } from '../usage/extract.js';
import type { Usage } from '../usage/types.js';
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

/** Prices the call and hands one row to the batched call-log writer; never throws. */
export function recordCall(deps: AppDeps, ctx: CallContext, out: CallOutcome): void {
  try {
    const model = ctx.model ?? out.responseModel ?? '(none)';
    const usage = out.usage;
    const served = out.cacheStatus === 'hit' || out.cacheStatus === 'idempotent_replay' || out.cacheStatus === 'coalesced';
    let cost: number | null;
    if (served || out.status >= 400 || !usage || usage.source === 'none') {
      // Nothing billable happened upstream: a served copy, an error, or a free call (models, moderations).
      // A billed endpoint's success without readable usage is unknown, not free.
      if (served || out.status >= 400) cost = 0;
      else if (BILLED_ENDPOINTS.has(ctx.endpoint)) cost = null;
      else cost = ctx.model ? priced(deps, model, undefined) : 0;
    } else {
      cost = upstreamCost(deps, ctx, out);
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
    };
    deps.callLog.write(row);
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
    if (cost) m.costUsd.inc({ endpoint, model: modelLabel }, cost);
    if (row.costSavedUsd) m.savedUsd.inc({ endpoint, cache_status: row.cacheStatus }, row.costSavedUsd);
    if (cost === null) m.unknownModel.inc({ model: modelLabel });
    if (row.upstreamMs !== null) m.upstreamSecondsOf(endpoint, String(row.stream)).observe(row.upstreamMs / 1000);
  } catch (err) {
    deps.logger.error({ err: (err as Error).message, requestId: ctx.requestId }, 'could not record call');
  }
}

/**
 * What the upstream call behind `out` cost: priced by the response's model (a dated snapshot) when
 * known, else the requested one; null when neither has a price. Rows and stored cache entries use
 * this same rule, so a hit's cost_saved_usd equals its miss's cost_usd.
 */
export function upstreamCost(deps: Pick<AppDeps, 'prices'>, ctx: CallContext, out: Pick<CallOutcome, 'usage' | 'responseModel'>): number | null {
  const usage = out.usage;
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
