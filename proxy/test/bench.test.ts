import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startChild, stopChild, type Child } from '../src/bench/children.js';
import { percentiles } from '../src/bench/load.js';
import { median, ratioLines, scenarioTable, summarize, type TargetRun } from '../src/bench/report.js';
import { benchDataDir, benchSettings } from '../src/bench/settings.js';

describe('benchSettings', () => {
  const defaults = {
    concurrency: 32,
    durationS: 3,
    warmupS: 1,
    requests: null,
    rounds: 3,
    streamChunkDelayMs: 0,
    streams: 1000,
    slowChunkDelayMs: 300,
    upstreamPort: 0,
    rawPort: 0,
    proxyPort: 0,
    jsonPath: null,
  };

  it('defaults to 32 connections, 3 rounds of 3 s after 1 s of warm-up, 1000 slow streams, free ports, and treats empty as unset', () => {
    expect(benchSettings({})).toEqual(defaults);
    expect(benchSettings({ BENCH_REQUESTS: '', BENCH_CONCURRENCY: ' ', BENCH_JSON: '' })).toEqual(defaults);
    expect(
      benchSettings(
        {
          BENCH_REQUESTS: '200',
          BENCH_CONCURRENCY: '4',
          BENCH_DURATION_S: '10',
          BENCH_WARMUP_S: '0',
          BENCH_ROUNDS: '1',
          BENCH_STREAM_CHUNK_DELAY_MS: '5',
          BENCH_STREAMS: '0',
          BENCH_SLOW_CHUNK_DELAY_MS: '0',
          BENCH_PROXY_PORT: '18580',
          BENCH_UPSTREAM_PORT: '0',
          BENCH_RAW_PORT: '18581',
          BENCH_JSON: 'out/bench.json',
        },
        '/work',
      ),
    ).toEqual({
      concurrency: 4,
      durationS: 10,
      warmupS: 0,
      requests: 200,
      rounds: 1,
      streamChunkDelayMs: 5,
      streams: 0,
      slowChunkDelayMs: 0,
      upstreamPort: 0,
      rawPort: 18581,
      proxyPort: 18580,
      jsonPath: '/work/out/bench.json',
    });
    expect(benchSettings({ BENCH_JSON: '/tmp/b.json' }, '/work').jsonPath).toBe('/tmp/b.json');
  });

  it('rejects anything but a positive integer, naming every bad variable', () => {
    for (const bad of ['0', '-1', '1.5', 'abc', '1e3', '0x10', ' 16', 'NaN']) {
      for (const name of ['BENCH_REQUESTS', 'BENCH_CONCURRENCY', 'BENCH_DURATION_S', 'BENCH_ROUNDS']) {
        expect(() => benchSettings({ [name]: bad })).toThrow(`${name}=${JSON.stringify(bad)}: expected a positive integer`);
      }
    }
    // Zero is allowed where it means "none".
    expect(benchSettings({ BENCH_WARMUP_S: '0', BENCH_STREAMS: '0' })).toMatchObject({ warmupS: 0, streams: 0 });
    expect(() => benchSettings({ BENCH_STREAMS: '10001' })).toThrow('BENCH_STREAMS="10001": expected a number of streams');
    expect(() => benchSettings({ BENCH_SLOW_CHUNK_DELAY_MS: '-5' })).toThrow('BENCH_SLOW_CHUNK_DELAY_MS="-5": expected a delay in milliseconds');
    expect(() => benchSettings({ BENCH_PROXY_PORT: '65536' })).toThrow('BENCH_PROXY_PORT="65536": expected a port number');
    let message = '';
    try {
      benchSettings({ BENCH_REQUESTS: 'x', BENCH_CONCURRENCY: '0', BENCH_UPSTREAM_PORT: 'y', BENCH_WARMUP_S: '1.5' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n').map((l) => l.trim().split('=')[0])).toEqual([
      'Invalid benchmark settings:',
      'BENCH_REQUESTS',
      'BENCH_CONCURRENCY',
      'BENCH_WARMUP_S',
      'BENCH_UPSTREAM_PORT',
    ]);
  });
});

describe('the report', () => {
  const pct = (p50: number, p99: number) => ({ p50, p99, max: p99 });
  const run = (rps: number, p50: number, p99: number, ttfb50 = p50): TargetRun => ({
    ok: 100,
    errors: 0,
    errorSamples: [],
    warmupRequests: 10,
    warmupErrors: 0,
    seconds: 1,
    rps,
    latency: pct(p50, p99),
    headers: pct(ttfb50, p99),
    ttfb: pct(ttfb50, p99),
    cache: { none: 100 },
    upstreamCalls: 110,
  });

  it('takes percentiles by nearest rank and medians of odd and even counts', () => {
    expect(percentiles(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toEqual({ p50: 5, p99: 10, max: 10 });
    expect(percentiles(Float64Array.from(Array.from({ length: 1000 }, (_, i) => i + 1)))).toEqual({ p50: 500, p99: 990, max: 1000 });
    expect(percentiles([])).toEqual({ p50: NaN, p99: NaN, max: NaN });
    expect([median([3, 1, 2]), median([4, 1, 3, 2]), median([])]).toEqual([2, 2.5, NaN]);
  });

  it('computes the ratios round by round from the measurements, then takes their median', () => {
    const s = summarize({
      id: 'chat-sse',
      label: 'chat, SSE stream',
      stream: true,
      targets: ['direct', 'raw', 'tollgate'],
      rounds: [
        { direct: run(20000, 1, 2), raw: run(8000, 3, 8, 2), tollgate: run(2000, 12, 40, 10) },
        { direct: run(21000, 1, 2), raw: run(10000, 3, 10, 3), tollgate: run(3000, 10, 30, 7) },
        { direct: run(19000, 1, 2), raw: run(9000, 4, 9, 3), tollgate: run(4500, 8, 27, 6) },
      ],
    });
    expect(s.ratios.rpsTollgateOverRaw.perRound).toEqual([0.25, 0.3, 0.5]);
    expect(s.ratios.rpsTollgateOverRaw).toMatchObject({ median: 0.3, min: 0.25, max: 0.5 });
    expect(s.ratios.p99TollgateOverRaw.perRound).toEqual([5, 3, 3]);
    expect(s.ratios.p99TollgateOverRaw.median).toBe(3);
    expect(s.ratios.ttfbP50OverheadMs!.perRound).toEqual([8, 4, 3]);
    expect(s.ratios.ttfbP50OverheadMs!.median).toBe(4);
    expect(s.ratios.p50OverheadMs.median).toBe(7);
    expect(s.ratios.rpsTollgateOverDirect!.perRound).toEqual([0.1, 3000 / 21000, 4500 / 19000]);
    expect(s.targets.tollgate).toMatchObject({ ok: 300, errors: 0, upstreamCalls: 330, latencyP99: 30, cache: { none: 300 } });
    expect(s.targets.tollgate!.rps).toMatchObject({ median: 3000, min: 2000, max: 4500 });

    const text = scenarioTable([s]);
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toContain('3000 [2000..4500]');
    expect(ratioLines([s])[0]).toBe(
      '  chat, SSE stream: tollgate/raw req/s 0.30 [0.25..0.50]; tollgate p99 / raw p99 3.00x [3.00x..5.00x]; TTFB overhead p50 +4.00 ms; ' +
        'last byte overhead p50 +7.00 ms; tollgate/direct req/s 0.14 (raw/direct 0.47)',
    );
  });

  it('has no direct or TTFB ratios where the scenario has no direct target or no stream', () => {
    const s = summarize({
      id: 'cache-hit',
      label: 'hit',
      stream: false,
      targets: ['raw', 'tollgate'],
      rounds: [{ raw: run(100, 1, 2), tollgate: run(300, 1, 1) }],
    });
    expect(Object.keys(s.ratios).sort()).toEqual(['p50OverheadMs', 'p99TollgateOverRaw', 'rpsTollgateOverRaw']);
    expect(s.ratios.rpsTollgateOverRaw).toEqual({ median: 3, min: 3, max: 3, perRound: [3] });
    expect(s.targets.direct).toBeUndefined();
  });
});

describe('benchDataDir', () => {
  it('makes a fresh folder in the temp directory and removes it', () => {
    const data = benchDataDir({});
    expect(data.dir?.startsWith(tmpdir())).toBe(true);
    expect(existsSync(data.dir!)).toBe(true);
    data.remove();
    expect(existsSync(data.dir!)).toBe(false);
    data.remove(); // twice is harmless (finally after a failed start)
  });

  it("makes none with DATABASE_URL, and leaves the caller's PGLITE_DATA_DIR to the caller", () => {
    expect(benchDataDir({ DATABASE_URL: 'postgres://x@y/z' }).dir).toBeUndefined();
    expect(benchDataDir({ PGLITE_DATA_DIR: '/somewhere/kept' }).dir).toBeUndefined();
    const blank = benchDataDir({ DATABASE_URL: ' ' }); // empty means unset, as for the proxy
    expect(blank.dir).toBeDefined();
    blank.remove();
  });
});

describe('startChild', () => {
  const started: Child[] = [];
  afterEach(async () => {
    for (const c of started.splice(0)) await stopChild(c, 2000);
  });
  /** A node child running `code`; crashes are collected rather than thrown. */
  function child(code: string, timeoutMs = 10_000) {
    const crashes: Error[] = [];
    const c = startChild({
      name: 'test child',
      args: ['-e', code],
      env: process.env,
      listening: /listening on (http:\/\/\S+)/,
      timeoutMs,
      onCrash: (err) => crashes.push(err),
    });
    started.push(c);
    return { c, crashes };
  }
  const serve = "const s=require('http').createServer((q,r)=>r.end('ok')).listen(0,'127.0.0.1',()=>console.log('noise\\nlistening on http://127.0.0.1:'+s.address().port+'/v1'));";

  it('resolves with the address the child itself reports, and a requested stop is no crash', async () => {
    const { c, crashes } = child(serve);
    const url = await c.ready;
    expect(url.pathname).toBe('/v1');
    expect(await (await fetch(url.origin)).text()).toBe('ok');
    await stopChild(c, 2000);
    expect(await c.exited).toBe('signal SIGTERM');
    expect(crashes).toEqual([]);
  });

  it('fails clearly when the child exits before it listens (a taken port), with its last output', async () => {
    const { c, crashes } = child("console.log('could not listen: EADDRINUSE'); process.exit(3)");
    await expect(c.ready).rejects.toThrow(/test child exited \(exit code 3\) before it was listening[^]*could not listen: EADDRINUSE/);
    expect(crashes).toHaveLength(1);
  });

  it('reports a child that dies while the benchmark runs', async () => {
    const { c, crashes } = child(`${serve} setTimeout(() => process.exit(0), 200);`);
    await c.ready;
    await c.exited;
    expect(crashes.map((e) => e.message)).toEqual([expect.stringMatching(/^test child exited \(exit code 0\) while the benchmark was running/)]);
  });

  it('gives up on a child that never says it listens', async () => {
    const { c } = child('setInterval(() => {}, 1000)', 300);
    await expect(c.ready).rejects.toThrow('test child did not report that it was listening within 0.3s');
  });
});
