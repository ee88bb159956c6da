import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { tenantOf } from '../proxy/src/tenant.js';
import { loggedRows, loggedRowsWhenThere, startStack, type Stack } from './support/stack.js';

/**
 * One test per client library family the README names: each is configured exactly as for OpenAI
 * except for its base URL, and its calls come back as from the fake upstream directly and are
 * logged with their usage.
 */
describe('client libraries: the base URL is the only change', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  /** The reported-usage rows of one library's key, once `count` of them are written (a row follows its answer). */
  async function rowsOf(key: string, count: number) {
    const until = Date.now() + 3000;
    for (;;) {
      const rows = await loggedRows(stack, "usage_source = 'reported' AND tenant = $1", [tenantOf(key)]);
      if (rows.length >= count || Date.now() > until) return rows;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('OpenAI SDK (`openai`)', async () => {
    const direct = new OpenAI({ baseURL: stack.mock.url, apiKey: 'sk-lib-openai' });
    const proxied = new OpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-lib-openai' });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hello from the openai SDK' }] };
    const viaProxy = await proxied.chat.completions.create(params).withResponse();
    expect(viaProxy.data).toEqual(await direct.chat.completions.create(params));
    const rows = await loggedRowsWhenThere(stack, 'request_id = $1', [viaProxy.response.headers.get('x-tollgate-request-id')]);
    expect(rows[0]).toMatchObject({ endpoint: 'chat.completions', tokens_prompt: viaProxy.data.usage!.prompt_tokens, usage_source: 'reported' });
  });

  it('Vercel AI SDK (`ai` with `@ai-sdk/openai`)', async () => {
    const direct = createOpenAI({ baseURL: stack.mock.url, apiKey: 'sk-lib-vercel' });
    const proxied = createOpenAI({ baseURL: stack.proxyUrl, apiKey: 'sk-lib-vercel' });
    // The provider's default model is the Responses API; `.chat` is Chat Completions.
    for (const pick of [(p: typeof proxied) => p('gpt-4o-mini'), (p: typeof proxied) => p.chat('gpt-4o-mini')]) {
      const a = await generateText({ model: pick(proxied), prompt: 'Hello from the AI SDK' });
      const b = await generateText({ model: pick(direct), prompt: 'Hello from the AI SDK' });
      expect(a.text).toBe(b.text);
      expect(a.usage.inputTokens).toBe(b.usage.inputTokens);
    }
    const stream = streamText({ model: proxied.chat('gpt-4o-mini'), prompt: 'Stream from the AI SDK' });
    let text = '';
    for await (const part of stream.textStream) text += part;
    expect(text).toContain('Mock reply from gpt-4o-mini');
    const rows = await rowsOf('sk-lib-vercel', 3);
    expect(rows.map((r) => r['endpoint']).sort()).toEqual(['chat.completions', 'chat.completions', 'responses']);
  });

  it('LangChain (`@langchain/openai`)', async () => {
    const configure = (baseURL: string) => ({ model: 'gpt-4o-mini', apiKey: 'sk-lib-langchain', configuration: { baseURL }, maxRetries: 0 });
    const a = await new ChatOpenAI(configure(stack.proxyUrl)).invoke('Hello from LangChain');
    const b = await new ChatOpenAI(configure(stack.mock.url)).invoke('Hello from LangChain');
    expect(a.content).toBe(b.content);
    const vectors = await new OpenAIEmbeddings({ model: 'text-embedding-3-small', apiKey: 'sk-lib-langchain', configuration: { baseURL: stack.proxyUrl } }).embedDocuments(['one', 'two']);
    expect(vectors).toHaveLength(2);
    const rows = await rowsOf('sk-lib-langchain', 2);
    expect(rows.map((r) => r['endpoint']).sort()).toEqual(['chat.completions', 'embeddings']);
  });
});
