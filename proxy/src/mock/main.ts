import { startMockUpstream } from './server.js';

/** `npm run mock`: the fake OpenAI upstream on PORT (default 8090). */
const num = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return v;
};

const mock = await startMockUpstream({
  port: num('PORT', 8090),
  host: process.env.HOST || '0.0.0.0',
  chunkDelayMs: num('MOCK_CHUNK_DELAY_MS', 0),
  latencyMs: num('MOCK_LATENCY_MS', 0),
});
console.log(`mock OpenAI upstream listening on ${mock.url}`);

const stop = () => {
  void mock.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
