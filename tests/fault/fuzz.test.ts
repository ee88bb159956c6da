import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { cachePolicy } from '../../proxy/src/cache/index.js';
import { ProxyError } from '../../proxy/src/call/errors.js';
import { loadConfig } from '../../proxy/src/config.js';
import { parseIdempotencyKey, requestFingerprint } from '../../proxy/src/idempotency/keys.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * Property-based: random bodies, headers, encodings and nesting depths sent through real HTTP to
 * the real app (prepareRequest, the Idempotency-Key guard and its fingerprint, cachePolicy, the
 * persona and chat-stream body parsing) never produce a 500 or a crash, and every error body has
 * OpenAI's shape. Then the parsers and fingerprints directly, with more runs.
 */

const PATHS = ['/v1/chat/completions', '/v1/embeddings', '/v1/responses', '/v1/completions', '/v1/moderations', '/api/personas/generate', '/api/chat/stream'];

/** Header values node:http will send: printable ASCII and latin1 bytes (no CR, LF, NUL or DEL). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: 40 });

const deepArray = fc.integer({ min: 1, max: 20_000 }).map((d) => '['.repeat(d) + ']'.repeat(d));
const deepObject = fc.integer({ min: 1, max: 5_000 }).map((d) => '{"model":"gpt-4o-mini","messages":'.repeat(d) + '1' + '}'.repeat(d));
const plausible = fc
  .record(
    {
      model: fc.oneof(fc.constant('gpt-4o-mini'), fc.constant('text-embedding-3-small'), fc.string(), fc.integer(), fc.constant(null)),
      messages: fc.oneof(fc.constant([{ role: 'user', content: 'hi' }]), fc.jsonValue({ maxDepth: 4 })),
      input: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 3 })),
      stream: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
      stream_options: fc.jsonValue({ maxDepth: 2 }),
      email: fc.oneof(fc.emailAddress(), fc.string()),
      leadData: fc.jsonValue({ maxDepth: 3 }),
      config: fc.oneof(fc.record({ numPersonas: fc.oneof(fc.integer({ min: -5, max: 200 }), fc.string(), fc.double()) }), fc.jsonValue({ maxDepth: 2 })),
      n: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.string()),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

const body = fc.oneof(
  plausible,
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  deepArray,
  deepObject,
);

const headers = fc.record(
  {
    'content-type': fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'), headerText),
    'content-encoding': fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'zstd', 'bogus', 'gzip, gzip'),
    'idempotency-key': fc.oneof(headerText, fc.constant(''), fc.constant('"quoted \\" key"'), fc.string({ minLength: 250, maxLength: 300 })),
    'x-tollgate-cache': fc.oneof(fc.constantFrom('on', 'off', 'ON', 'yes'), headerText),
    'cache-control': fc.oneof(fc.constantFrom('max-age=5', 'no-cache', 'no-store', 'only-if-cached', 'max-age=-1', 'max-age=99999999999999999999', 'max-age=', 'max-age=5, no-store'), headerText),
    'x-tollgate-cache-ttl': fc.oneof(fc.integer().map(String), headerText, fc.constant('1e309')),
    authorization: fc.oneof(fc.constant('Bearer sk-fuzz'), headerText),
  },
  { requiredKeys: [] },
);

/** node:http, which sends header values as given (undici refuses some, an empty Cache-Control). */
function send(url: string, headers: Record<string, string>, body: string | Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.end(body);
  });
}

function expectOpenAIError(status: number, text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  const e = (parsed as { error?: Record<string, unknown> }).error;
  expect(Object.keys(parsed as object)).toEqual(['error']);
  expect(Object.keys(e ?? {}).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect([typeof e!.message, typeof e!.type]).toEqual(['string', 'string']);
  expect(e!.param === null || typeof e!.param === 'string').toBe(true);
  expect(e!.code === null || typeof e!.code === 'string').toBe(true);
}

describe('fuzz: request parsers and fingerprints through real HTTP', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ LOG_LEVEL: 'silent' });
  });
  afterAll(() => stack.close());

  it('random bodies, headers, encodings and depths: never a 500, every error in OpenAI shape', async () => {
    const base = stack.proxyUrl.replace(/\/v1$/, '');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PATHS), body, headers, async (path, payload, hdrs) => {
        const res = await send(base + path, hdrs, payload);
        expect(res.status).not.toBe(500);
        expect(res.status).toBeLessThan(600);
        if (res.status >= 400) expectOpenAIError(res.status, res.text);
      }),
      { numRuns: 150, interruptAfterTimeLimit: 20_000 },
    );
  }, 40_000);
});

describe('fuzz: the parsers directly', () => {
  const config = loadConfig({ RESPONSE_CACHE_ENDPOINTS: 'chat.completions' });

  it('parseIdempotencyKey returns a printable key, undefined, or throws a 400 ProxyError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined)), (v) => {
        try {
          const key = parseIdempotencyKey(v);
          if (key !== undefined) expect(key).toMatch(/^[\x20-\x7e]{1,255}$/);
        } catch (err) {
          expect(err).toBeInstanceOf(ProxyError);
          expect((err as ProxyError).status).toBe(400);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('requestFingerprint is total on JSON values and ignores member order', () => {
    fc.assert(
      fc.property(fc.constantFrom('post', 'POST'), fc.constantFrom(...PATHS), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 5 })), (method, path, obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        const a = requestFingerprint(method, path, obj);
        expect(a).toMatch(/\S/);
        expect(requestFingerprint('POST', path, reversed)).toBe(a);
      }),
      { numRuns: 1000 },
    );
  });

  it('cachePolicy decides or refuses with a 4xx ProxyError, whatever the headers', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PATHS, '/v1/chat/completions?x=1', '/chat/completions'), headers, (path, hdrs) => {
        try {
          const p = cachePolicy(path, hdrs, config);
          expect(typeof p.enabled).toBe('boolean');
        } catch (err) {
          expect(err).toBeInstanceOf(ProxyError);
          expect((err as ProxyError).status).toBeGreaterThanOrEqual(400);
          expect((err as ProxyError).status).toBeLessThan(500);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
