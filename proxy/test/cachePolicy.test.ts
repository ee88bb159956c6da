import { cachePolicy, parseCacheControl } from '../src/cache/policy.js';
import type { Config } from '../src/config.js';
import { responseCacheKey } from '../src/cache/key.js';
import { personaInputHash } from '../src/api/personas/schema.js';

const config = { RESPONSE_CACHE_ENDPOINTS: [] as Config['RESPONSE_CACHE_ENDPOINTS'], RESPONSE_CACHE_TTL_SECONDS: 3600 };

describe('cache policy', () => {
  it('is off unless opted in, and never for other endpoints', () => {
    expect(cachePolicy('/v1/chat/completions', {}, config)).toMatchObject({ enabled: false, lookup: false, store: false });
    expect(cachePolicy('/v1/images/generations', { 'x-tollgate-cache': 'on' }, config).enabled).toBe(false);
  });

  it('opts in by header, by max-age, or per endpoint in config', () => {
    expect(cachePolicy('/v1/chat/completions', { 'x-tollgate-cache': 'on' }, config)).toMatchObject({ enabled: true, lookup: true, store: true, ttlSeconds: 3600 });
    expect(cachePolicy('/v1/responses', { 'cache-control': 'max-age=60' }, config)).toMatchObject({ enabled: true, lookup: true, maxAgeSeconds: 60 });
    expect(cachePolicy('/embeddings', {}, { ...config, RESPONSE_CACHE_ENDPOINTS: ['embeddings'] })).toMatchObject({ enabled: true, lookup: true });
    expect(cachePolicy('/v1/responses', {}, { ...config, RESPONSE_CACHE_ENDPOINTS: ['*'] }).enabled).toBe(true);
    expect(cachePolicy('/v1/embeddings', { 'x-tollgate-cache': 'off' }, { ...config, RESPONSE_CACHE_ENDPOINTS: ['embeddings'] }).enabled).toBe(false);
  });

  it('no-cache refreshes (no lookup, store), no-store neither, max-age=0 refreshes, only-if-cached is flagged', () => {
    const on = { 'x-tollgate-cache': 'on' };
    expect(cachePolicy('/v1/chat/completions', { ...on, 'cache-control': 'no-cache' }, config)).toMatchObject({ enabled: true, lookup: false, store: true });
    expect(cachePolicy('/v1/chat/completions', { ...on, 'cache-control': 'No-Store' }, config)).toMatchObject({ enabled: false, store: false });
    expect(cachePolicy('/v1/chat/completions', { ...on, 'cache-control': 'max-age=0' }, config)).toMatchObject({ lookup: false, store: true });
    expect(cachePolicy('/v1/chat/completions', { ...on, 'cache-control': 'only-if-cached' }, config).onlyIfCached).toBe(true);
    expect(cachePolicy('/v1/chat/completions', { ...on, 'x-tollgate-cache-ttl': '5' }, config).ttlSeconds).toBe(5);
  });

  it('no-cache and only-if-cached opt in by themselves; no-store and X-Tollgate-Cache: off still win', () => {
    const chat = '/v1/chat/completions';
    expect(cachePolicy(chat, { 'cache-control': 'only-if-cached' }, config)).toMatchObject({ enabled: true, lookup: true, onlyIfCached: true });
    expect(cachePolicy(chat, { 'cache-control': 'no-cache' }, config)).toMatchObject({ enabled: true, lookup: false, store: true, onlyIfCached: false });
    expect(cachePolicy(chat, { 'cache-control': 'max-age=0' }, config)).toMatchObject({ enabled: true, lookup: false, store: true });
    expect(cachePolicy('/v1/embeddings', { 'cache-control': 'only-if-cached, max-age=30' }, config)).toMatchObject({ enabled: true, onlyIfCached: true, maxAgeSeconds: 30 });
    expect(cachePolicy(chat, { 'cache-control': 'no-cache, no-store' }, config)).toMatchObject({ enabled: false, store: false });
    expect(cachePolicy(chat, { 'cache-control': 'only-if-cached, no-store' }, config)).toMatchObject({ enabled: false, onlyIfCached: false });
    expect(cachePolicy(chat, { 'cache-control': 'only-if-cached', 'x-tollgate-cache': 'off' }, config)).toMatchObject({ enabled: false, onlyIfCached: false });
    expect(cachePolicy(chat, { 'cache-control': 'no-cache', 'x-tollgate-cache': 'off' }, config)).toMatchObject({ enabled: false, store: false });
    // Other endpoints are never cached, whatever the directives.
    expect(cachePolicy('/v1/images/generations', { 'cache-control': 'only-if-cached' }, config).enabled).toBe(false);
    // Directives that do not speak of the cache do not opt in.
    expect(cachePolicy(chat, { 'cache-control': 'no-transform' }, config).enabled).toBe(false);
  });

  it('parses Cache-Control directives', () => {
    expect([...parseCacheControl('max-age="30", no-cache , X-Ext=a')]).toEqual([
      ['max-age', '30'],
      ['no-cache', true],
      ['x-ext', 'a'],
    ]);
  });
});

describe('cache keys', () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0 };

  it('ignore key order, /v1, stream and stream_options', () => {
    const k = responseCacheKey('t1', '/v1/chat/completions', body);
    expect(responseCacheKey('t1', '/chat/completions', { temperature: 0, messages: body.messages, model: 'gpt-4o-mini' })).toBe(k);
    expect(responseCacheKey('t1', '/v1/chat/completions', { ...body, stream: true, stream_options: { include_usage: true } })).toBe(k);
  });

  it('split on tenant, path and any other body member', () => {
    const k = responseCacheKey('t1', '/v1/chat/completions', body);
    expect(responseCacheKey('t2', '/v1/chat/completions', body)).not.toBe(k);
    expect(responseCacheKey('t1', '/v1/responses', body)).not.toBe(k);
    expect(responseCacheKey('t1', '/v1/chat/completions', { ...body, temperature: 1 })).not.toBe(k);
  });

  it('persona input hash: key order free, email not part of it, model and config are', () => {
    const h = personaInputHash({ leadData: { age: 35, state: 'CA' }, config: { numPersonas: 12 }, model: 'gpt-4o-mini' });
    expect(personaInputHash({ model: 'gpt-4o-mini', config: { numPersonas: 12 }, leadData: { state: 'CA', age: 35 } })).toBe(h);
    expect(personaInputHash({ leadData: { age: 35, state: 'CA' }, config: { numPersonas: 11 }, model: 'gpt-4o-mini' })).not.toBe(h);
    expect(personaInputHash({ leadData: { age: 35, state: 'CA' }, config: { numPersonas: 12 }, model: 'gpt-4o' })).not.toBe(h);
  });
});
