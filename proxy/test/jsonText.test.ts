import { hasInexactNumber, memberValueSpan, parseExact } from '../src/v1/jsonText.js';

describe('jsonText', () => {
  it('parses like JSON.parse, keeping numbers a double would round', () => {
    const text = '{"a":1,"b":[true,null,"x\\"y"],"c":{"d":-2.5e3},"seed":12345678901234567890,"t":1.0}';
    expect(parseExact(text)).toEqual({ a: 1, b: [true, null, 'x"y'], c: { d: -2500 }, seed: { $number: '12345678901234567890' }, t: 1 });
    expect(parseExact('{"x":9007199254740992}')).not.toEqual(parseExact('{"x":9007199254740993}'));
    expect(parseExact('{"x":9007199254740991}')).toEqual({ x: 9007199254740991 });
    expect(() => parseExact('{"a":1,}')).toThrow(SyntaxError);
    expect(() => parseExact('{"a":1} x')).toThrow(SyntaxError);
  });

  it('tells when the exact parse is needed', () => {
    expect(hasInexactNumber('{"seed":12345678901234567890}')).toBe(true);
    expect(hasInexactNumber('{"seed":42,"temperature":0.7}')).toBe(false);
  });

  it('finds a top-level member value span, ignoring nested members of the same name', () => {
    const text = ' {"messages":[{"stream_options":1}], "stream_options" : {"include_obfuscation":false} ,"x":2}';
    const span = memberValueSpan(text, 'stream_options')!;
    expect(text.slice(span.start, span.end)).toBe('{"include_obfuscation":false}');
    expect(memberValueSpan('{"a":"}"}', 'b')).toBeUndefined();
    const nul = '{"stream_options":null}';
    const s2 = memberValueSpan(nul, 'stream_options')!;
    expect(nul.slice(s2.start, s2.end)).toBe('null');
  });

  it('a repeated member gives its last value, the one JSON.parse and upstream keep', () => {
    const text = '{"stream_options":{"a":1},"stream":true,"stream_options":{"b":2}}';
    const span = memberValueSpan(text, 'stream_options')!;
    expect(text.slice(span.start, span.end)).toBe('{"b":2}');
  });
});
