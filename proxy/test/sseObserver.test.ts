import { SseObserver, hideInjectedUsage } from '../src/v1/sseObserver.js';

const event = (data: unknown) => `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const chunk = (content: string | undefined, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  model: 'gpt-4o-mini-2024-07-18',
  choices: content === undefined ? [] : [{ index: 0, delta: { content }, finish_reason: null }],
  usage: null,
  ...extra,
});

function observe(...events: string[]): SseObserver {
  const o = new SseObserver();
  // Fed in awkward pieces, as a network would.
  const all = events.join('');
  for (let i = 0; i < all.length; i += 7) o.feed(all.slice(i, i + 7));
  return o;
}

describe('SseObserver', () => {
  it('reads model and usage, and the text in order, from a chat stream with include_usage', () => {
    const o = observe(
      event(chunk('')),
      event(chunk('Hello')),
      event(chunk(', "usage":{"x":1} in text')),
      event(chunk(' world')),
      event(chunk(undefined, { usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } })),
      event('[DONE]'),
    );
    expect([o.model, o.finished, o.errored]).toEqual(['gpt-4o-mini-2024-07-18', true, false]);
    expect(o.usage).toMatchObject({ promptTokens: 7, completionTokens: 3, source: 'reported' });
    expect(o.text).toBe('Hello, "usage":{"x":1} in text world');
  });

  it('keeps the text in order around chunks it must parse (tool calls), for a stream without usage', () => {
    const tool = { ...chunk(undefined), choices: [{ index: 0, delta: { content: ' [tool] ', tool_calls: [{ index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '' } }] } }] };
    const o = observe(event(chunk('a')), event(chunk('b')), event(tool), event(chunk('c')), event('[DONE]'));
    expect(o.usage).toBeUndefined();
    // The tool call's name and arguments are generated text too.
    expect(o.text).toBe('ab [tool] fc');
  });

  it('reads usage written with spaces, and an error event in the middle of a stream', () => {
    const spaced = '{"id":"x","model":"m","choices":[],"usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}';
    const o = observe(event(chunk('x')), event(chunk('y')), event({ error: { message: 'overloaded', type: 'server_error' } }), event(spaced));
    expect(o.errored).toBe(true);
    expect(o.usage).toMatchObject({ promptTokens: 2, completionTokens: 1 });
    expect(o.text).toBe('xy');
  });

  it("takes the model from the chunks when the first one names none (Azure's prompt filter chunk)", () => {
    const filter = { id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0 }] };
    const o = observe(event(filter), event(chunk('a')), event(chunk('b')), event('[DONE]'));
    expect(o.model).toBe('gpt-4o-mini-2024-07-18');
    expect(o.text).toBe('ab');
  });

  it('folds the text of a long stream as it goes, and keeps all of it', () => {
    const piece = 'x'.repeat(1000);
    const events = Array.from({ length: 3000 }, () => event(chunk(piece)));
    const o = observe(event(chunk('')), ...events, event('[DONE]'));
    expect(o.text.length).toBe(3000 * 1000);
  });
});

describe('hideInjectedUsage', () => {
  const chunk = (fields: string) => `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a,\\"usage\\":null}"}}]${fields}}\n\n`;
  it('removes the "usage":null the option adds, wherever it is and however it is spaced', () => {
    const plain = chunk('');
    expect(hideInjectedUsage(chunk(',"usage":null'))).toBe(plain);
    expect(hideInjectedUsage(chunk(',"usage":null,"obfuscation":"x"'))).toBe(chunk(',"obfuscation":"x"'));
    expect(hideInjectedUsage(chunk(',"usage":null ,"obfuscation":"x"'))).toBe(chunk(' ,"obfuscation":"x"'));
    expect(hideInjectedUsage('data: {"usage":null,"id":"c1"}\n\n')).toBe('data: {"id":"c1"}\n\n');
  });
  it('drops the usage-only chunk, and leaves [DONE], other events and generated text that looks like the field alone', () => {
    expect(hideInjectedUsage('data: {"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\n\n')).toBeNull();
    expect(hideInjectedUsage('data: [DONE]\n\n')).toBe('data: [DONE]\n\n');
    expect(hideInjectedUsage(chunk(''))).toBe(chunk(''));
    // Not the option's field: a usage object on a chunk with choices is the caller's to see.
    expect(hideInjectedUsage(chunk(',"usage":{"prompt_tokens":1}'))).toBe(chunk(',"usage":{"prompt_tokens":1}'));
  });
});
