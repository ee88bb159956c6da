import request from 'supertest';
import { startStack, type Stack } from './support/stack.js';

/**
 * The design note's test server, on our stack: the real app (createApp) on this run's Postgres in
 * front of the fake upstream. The fake answers after 150 ms, a realistic upstream latency, so the
 * note's "cached call is faster" check compares a real generation with a cache hit.
 */
export const stack: Stack = await startStack({ OPENAI_API_KEY: 'sk-seed-tests' }, { latencyMs: 150 });
afterAll(() => stack.close());

export const app = stack.app;
export const api = () => request(app);
