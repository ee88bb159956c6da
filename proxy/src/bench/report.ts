import type { CpuPerRequest } from './cpu.js';
import type { LoadResult } from './load.js';

/**
 * The servers a scenario measures: the upstream itself (ceiling), a bare pipe (floor), a pipe that
 * writes the call log and nothing else (the floor of any proxy that logs; with DATABASE_URL only),
 * Tollgate.
 */
export const TARGETS = ['direct', 'raw', 'logging', 'tollgate'] as const;
export type Target = (typeof TARGETS)[number];

/** One target's measured phase in one round, with the chat calls the upstream saw meanwhile (warm-up included). */
export interface TargetRun extends LoadResult {
  upstreamCalls: number;
  /** CPU per request over the phase (warm-up included): the target's process and its Postgres backends. */
  cpu?: CpuPerRequest;
}

export interface ScenarioRuns {
  id: string;
  label: string;
  stream: boolean;
  targets: Target[];
  /** Round by round, each target once, back to back. */
  rounds: Array<Partial<Record<Target, TargetRun>>>;
}

/** A value over the rounds: the median, and the spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  perRound: number[];
}

export interface TargetSummary {
  rps: Spread;
  latencyP50: number;
  latencyP99: number;
  ttfbP50: number;
  ttfbP99: number;
  /** Summed over the rounds. */
  ok: number;
  errors: number;
  warmupErrors: number;
  upstreamCalls: number;
  cache: Record<string, number>;
  /** Medians over the rounds, µs per request (NaN where not measured). */
  cpuProcessUs: number;
  cpuPostgresUs: number;
}

/**
 * Tollgate against the floor (and the ceiling), computed round by round, so that each ratio
 * compares phases run seconds apart on the same machine, then the median over the rounds.
 */
export interface Ratios {
  rpsTollgateOverRaw: Spread;
  p99TollgateOverRaw: Spread;
  /** Tollgate's latency p50 minus raw's, in ms (for a stream: to the last byte). */
  p50OverheadMs: Spread;
  rpsTollgateOverDirect?: Spread;
  rpsRawOverDirect?: Spread;
  /** Streams: Tollgate's time-to-first-byte p50 minus raw's, in ms. */
  ttfbP50OverheadMs?: Spread;
  /** The logging pass-through's req/s over raw's (what writing the call log alone costs), and Tollgate's over it. */
  rpsLoggingOverRaw?: Spread;
  rpsTollgateOverLogging?: Spread;
}

export interface ScenarioSummary {
  id: string;
  label: string;
  stream: boolean;
  targets: Partial<Record<Target, TargetSummary>>;
  ratios: Ratios;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spread(perRound: number[]): Spread {
  return { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), perRound };
}

function summarizeTarget(runs: TargetRun[]): TargetSummary {
  const cache: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.cache)) cache[k] = (cache[k] ?? 0) + v;
  const sum = (f: (r: TargetRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  return {
    rps: spread(runs.map((r) => r.rps)),
    latencyP50: median(runs.map((r) => r.latency.p50)),
    latencyP99: median(runs.map((r) => r.latency.p99)),
    ttfbP50: median(runs.map((r) => r.ttfb.p50)),
    ttfbP99: median(runs.map((r) => r.ttfb.p99)),
    ok: sum((r) => r.ok),
    errors: sum((r) => r.errors),
    warmupErrors: sum((r) => r.warmupErrors),
    upstreamCalls: sum((r) => r.upstreamCalls),
    cache,
    cpuProcessUs: median(runs.map((r) => r.cpu?.process).filter((v): v is number => v !== undefined)),
    cpuPostgresUs: median(runs.map((r) => r.cpu?.postgres).filter((v): v is number => v !== undefined)),
  };
}

export function summarize(s: ScenarioRuns): ScenarioSummary {
  const targets: Partial<Record<Target, TargetSummary>> = {};
  for (const t of s.targets) targets[t] = summarizeTarget(s.rounds.map((r) => r[t]!));
  const per = (f: (r: Partial<Record<Target, TargetRun>>) => number) => spread(s.rounds.map(f));
  const tg = (r: Partial<Record<Target, TargetRun>>) => r.tollgate!;
  const raw = (r: Partial<Record<Target, TargetRun>>) => r.raw!;
  const ratios: Ratios = {
    rpsTollgateOverRaw: per((r) => tg(r).rps / raw(r).rps),
    p99TollgateOverRaw: per((r) => tg(r).latency.p99 / raw(r).latency.p99),
    p50OverheadMs: per((r) => tg(r).latency.p50 - raw(r).latency.p50),
  };
  if (s.targets.includes('direct')) {
    ratios.rpsTollgateOverDirect = per((r) => tg(r).rps / r.direct!.rps);
    ratios.rpsRawOverDirect = per((r) => raw(r).rps / r.direct!.rps);
  }
  if (s.stream) ratios.ttfbP50OverheadMs = per((r) => tg(r).ttfb.p50 - raw(r).ttfb.p50);
  if (s.targets.includes('logging')) {
    ratios.rpsLoggingOverRaw = per((r) => r.logging!.rps / raw(r).rps);
    ratios.rpsTollgateOverLogging = per((r) => tg(r).rps / r.logging!.rps);
  }
  return { id: s.id, label: s.label, stream: s.stream, targets, ratios };
}

/** The many-slow-streams scenario, one target. */
export interface SlowStreamsRun {
  target: Target;
  streams: number;
  completed: number;
  failed: number;
  errorSamples: LoadResult['errorSamples'];
  maxHeadersMs: number;
  p50HeadersMs: number;
  p50DurationMs: number;
  maxDurationMs: number;
  seconds: number;
  /** Most chat calls the upstream had in flight at once during this run. */
  upstreamPeakInFlight: number;
  /** Tollgate only (Linux /proc): resident memory before, the highest sampled during, and VmHWM at the end. */
  rssBeforeMb?: number;
  rssPeakSampledMb?: number;
  rssHighWaterMb?: number;
}

// ---- text ----------------------------------------------------------------------------------

const f = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const ms = (v: number) => f(v, v < 10 ? 2 : 1);
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${ms(v)}` : 'n/a');

/** Left-aligns the first `left` columns (labels), right-aligns the others (numbers). */
export function table(rows: string[][], left: number): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < left ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function range(s: Spread, fmt: (v: number) => string): string {
  return s.perRound.length > 1 ? `${fmt(s.median)} [${fmt(s.min)}..${fmt(s.max)}]` : fmt(s.median);
}

export function scenarioTable(summaries: ScenarioSummary[]): string {
  const rows: string[][] = [['scenario', 'target', 'req/s (median [min..max])', 'p50 ms', 'p99 ms', 'ttfb p50', 'ttfb p99', 'errors', 'upstream calls', 'CPU µs/req', 'its Postgres µs/req']];
  for (const s of summaries) {
    let first = true;
    for (const t of TARGETS) {
      const x = s.targets[t];
      if (!x) continue;
      rows.push([
        first ? s.label : '',
        t,
        range(x.rps, (v) => f(v, 0)),
        ms(x.latencyP50),
        ms(x.latencyP99),
        s.stream ? ms(x.ttfbP50) : '-',
        s.stream ? ms(x.ttfbP99) : '-',
        String(x.errors + x.warmupErrors),
        String(x.upstreamCalls),
        Number.isFinite(x.cpuProcessUs) ? f(x.cpuProcessUs, 0) : '-',
        Number.isFinite(x.cpuPostgresUs) ? f(x.cpuPostgresUs, 0) : '-',
      ]);
      first = false;
    }
  }
  return table(rows, 2);
}

export function ratioLines(summaries: ScenarioSummary[]): string[] {
  const x = (v: number) => `${f(v, 2)}x`;
  return summaries.map((s) => {
    const r = s.ratios;
    const parts = [`tollgate/raw req/s ${range(r.rpsTollgateOverRaw, (v) => f(v, 2))}`, `tollgate p99 / raw p99 ${range(r.p99TollgateOverRaw, x)}`];
    if (r.ttfbP50OverheadMs) parts.push(`TTFB overhead p50 ${signed(r.ttfbP50OverheadMs.median)} ms`);
    parts.push(`${s.stream ? 'last byte' : 'latency'} overhead p50 ${signed(r.p50OverheadMs.median)} ms`);
    if (r.rpsLoggingOverRaw) parts.push(`logging/raw req/s ${f(r.rpsLoggingOverRaw.median, 2)}, tollgate/logging ${f(r.rpsTollgateOverLogging!.median, 2)}`);
    if (r.rpsTollgateOverDirect) parts.push(`tollgate/direct req/s ${f(r.rpsTollgateOverDirect.median, 2)} (raw/direct ${f(r.rpsRawOverDirect!.median, 2)})`);
    return `  ${s.label}: ${parts.join('; ')}`;
  });
}

export function slowStreamsTable(runs: SlowStreamsRun[]): string {
  const mb = (v: number | undefined) => (v === undefined ? '-' : f(v, 0));
  const rows: string[][] = [
    [
      'target',
      'streams',
      'completed',
      'failed',
      'headers p50 ms',
      'headers max ms',
      'duration p50 ms',
      'upstream peak',
      'RSS before MB',
      'RSS peak MB',
      'VmHWM MB',
    ],
  ];
  for (const r of runs) {
    rows.push([
      r.target,
      String(r.streams),
      String(r.completed),
      String(r.failed),
      ms(r.p50HeadersMs),
      ms(r.maxHeadersMs),
      ms(r.p50DurationMs),
      String(r.upstreamPeakInFlight),
      mb(r.rssBeforeMb),
      mb(r.rssPeakSampledMb),
      mb(r.rssHighWaterMb),
    ]);
  }
  return table(rows, 1);
}
