export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

export interface UpstreamChoice {
  url: string;
  kind: 'configured' | 'openai' | 'mock';
}

const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/**
 * The demo stack's rule: an explicit UPSTREAM_BASE_URL wins; otherwise the real API when an
 * OPENAI_API_KEY is given, and the fake upstream (MOCK_UPSTREAM_URL) when not. Compose cannot
 * express "this default unless that variable is set", hence this small step before the proxy.
 */
export function chooseUpstream(env: NodeJS.ProcessEnv): UpstreamChoice {
  if (set(env.UPSTREAM_BASE_URL)) return { url: env.UPSTREAM_BASE_URL.trim(), kind: 'configured' };
  if (set(env.OPENAI_API_KEY)) return { url: OPENAI_BASE_URL, kind: 'openai' };
  if (set(env.MOCK_UPSTREAM_URL)) return { url: env.MOCK_UPSTREAM_URL.trim(), kind: 'mock' };
  throw new Error('Set OPENAI_API_KEY (real OpenAI), MOCK_UPSTREAM_URL (fake upstream) or UPSTREAM_BASE_URL');
}
