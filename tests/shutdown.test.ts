import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request as httpRequest } from 'undici';
import type { Pool } from '../proxy/src/db/pool.js';
import { startMockUpstream, type MockUpstream } from '../proxy/src/mock/server.js';
import { testPool } from './support/db.js';

const MAIN = fileURLToPath(new URL('../proxy/dist/main.js', import.meta.url));

/** Starts the built proxy (`npm start`'s entry point) and resolves once it prints its URL. */
function startProxy(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Tollgate proxy on (http:\/\/localhost:\d+\/v1)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`proxy exited with ${code}: ${out}`)));
  });
}

describe('the built proxy process', () => {
  let mock: MockUpstream;
  let pool: Pool;
  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('proxy/dist/main.js is missing: `npm test` builds it first (npm run build -w proxy)');
    mock = await startMockUpstream({ port: 0 });
    pool = await testPool(2);
  });
  afterAll(async () => {
    await pool.end();
    await mock.close();
  });

  it('on SIGTERM finishes an in-flight stream, flushes its call-log row, then exits 0', async () => {
    const proxy = await startProxy({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      UPSTREAM_BASE_URL: mock.url,
      LOG_LEVEL: 'info',
      LOG_FLUSH_MS: '60000', // only the shutdown flush can write the row in time
    });
    const exited = new Promise<number | null>((resolve) => proxy.child.on('exit', (code) => resolve(code)));
    const res = await httpRequest(`${proxy.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-shutdown', 'x-mock-chunk-delay-ms': '100' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'drain me' }] }),
    });
    const requestId = res.headers['x-tollgate-request-id'] as string;
    let text = '';
    let signalled = false;
    for await (const chunk of res.body) {
      text += chunk.toString();
      if (!signalled) {
        signalled = true;
        proxy.child.kill('SIGTERM');
      }
    }
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await exited).toBe(0);
    const { rows } = await pool.query('SELECT client_aborted, usage_source, stream FROM openai_call_log WHERE request_id = $1', [requestId]);
    expect(rows).toEqual([{ client_aborted: false, usage_source: 'reported', stream: true }]);
  });

  /** Runs the built proxy to its exit; what it printed and its exit code. */
  const runToExit = (env: Record<string, string>, args: string[] = [MAIN]) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
  };

  it('a taken port is one clear line, and the proxy never claims to listen', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = String((taken.address() as AddressInfo).port);
    try {
      const { code, out } = await runToExit({ PORT: port, HOST: '127.0.0.1', DATABASE_URL: process.env.TEST_DATABASE_URL!, UPSTREAM_BASE_URL: mock.url });
      expect(code).toBe(1);
      expect(out).toContain(`Tollgate could not start: listening on 127.0.0.1:${port} (PORT)`);
      expect(out).not.toContain('Tollgate proxy on');
      expect(out).not.toContain('tollgate proxy listening');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('a database that cannot be reached, or a URL that is not Postgres, is one clear line', async () => {
    const refused = await runToExit({ PORT: '0', DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' });
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/^Tollgate could not start: connecting to DATABASE_URL: .*ECONNREFUSED/m);
    expect(refused.out).not.toMatch(/^\s+at /m);
    const migrateCli = fileURLToPath(new URL('../proxy/dist/migrateCli.js', import.meta.url));
    const notPostgres = await runToExit({ DATABASE_URL: 'mysql://root@127.0.0.1/test' }, [migrateCli]);
    expect(notPostgres.code).toBe(2);
    expect(notPostgres.out).toContain('DATABASE_URL="mysql://root@127.0.0.1/test": expected a postgres:// or postgresql:// connection URL');
  });

  it('refuses a bad configuration value with a clear message and exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: 'eighty', DATABASE_URL: process.env.TEST_DATABASE_URL! } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('Invalid configuration');
    expect(err).toContain('PORT="eighty"');
  });
});
