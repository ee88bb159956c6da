import { canonicalJson, hashCanonical, sha256Hex } from '../src/canonical.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('hashes equal for key-order permutations and differs for any value change', () => {
    const a = { leadData: { age: 35, state: 'CA' }, config: { numPersonas: 12 } };
    const b = { config: { numPersonas: 12 }, leadData: { state: 'CA', age: 35 } };
    expect(hashCanonical(a)).toBe(hashCanonical(b));
    expect(hashCanonical(a)).not.toBe(hashCanonical({ ...a, config: { numPersonas: 11 } }));
    expect(hashCanonical({ x: '1' })).not.toBe(hashCanonical({ x: 1 }));
  });

  it('drops undefined members like JSON, nulls non-finite numbers, escapes strings', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined, Number.NaN, Infinity])).toBe('[null,null,null]');
    expect(canonicalJson({ 'k"\n': 'v\u2028' })).toBe(JSON.stringify({ 'k"\n': 'v\u2028' }));
    expect(canonicalJson(1.0)).toBe('1');
    expect(canonicalJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
  });

  it('rejects circular structures', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(() => canonicalJson(a)).toThrow(/circular/);
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('sha256Hex is the standard digest', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
