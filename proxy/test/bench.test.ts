import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startChild, stopChild, type Child } from '../src/bench/children.js';
import { benchDataDir, benchSettings } from '../src/bench/settings.js';

describe('benchSettings', () => {
  it('defaults to 16 x 2000 and free ports, and treats empty as unset', () => {
    expect(benchSettings({})).toEqual({ concurrency: 16, requests: 2000, mockPort: 0, proxyPort: 0 });
    expect(benchSettings({ BENCH_REQUESTS: '', BENCH_CONCURRENCY: ' ' })).toMatchObject({ concurrency: 16, requests: 2000 });
    expect(benchSettings({ BENCH_REQUESTS: '200', BENCH_CONCURRENCY: '4', BENCH_PROXY_PORT: '18580', BENCH_MOCK_PORT: '0' })).toEqual({
      concurrency: 4,
      requests: 200,
      mockPort: 0,
      proxyPort: 18580,
    });
  });

  it('rejects anything but a positive integer, naming every bad variable', () => {
    for (const bad of ['0', '-1', '1.5', 'abc', '1e3', '0x10', ' 16', 'NaN']) {
      expect(() => benchSettings({ BENCH_REQUESTS: bad })).toThrow(`BENCH_REQUESTS=${JSON.stringify(bad)}: expected a positive integer`);
      expect(() => benchSettings({ BENCH_CONCURRENCY: bad })).toThrow(`BENCH_CONCURRENCY=${JSON.stringify(bad)}: expected a positive integer`);
    }
    expect(() => benchSettings({ BENCH_PROXY_PORT: '65536' })).toThrow('BENCH_PROXY_PORT="65536": expected a port number');
    let message = '';
    try {
      benchSettings({ BENCH_REQUESTS: 'x', BENCH_CONCURRENCY: '0', BENCH_MOCK_PORT: 'y' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n').map((l) => l.trim().split('=')[0])).toEqual([
      'Invalid benchmark settings:',
      'BENCH_CONCURRENCY',
      'BENCH_REQUESTS',
      'BENCH_MOCK_PORT',
    ]);
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
