import { canonicalJson, sortKeysDeep } from '../../domain/compliance/canonical-json';

describe('canonical JSON', () => {
  it('sorts object keys at every depth and drops undefined properties, whatever order they were built in', () => {
    const a = canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: 'é' }, u: undefined });
    const b = canonicalJson({ a: { c: 'é', d: [3, { x: 2, y: 1 }] }, b: 1 });
    expect(a).toBe('{"a":{"c":"é","d":[3,{"x":2,"y":1}]},"b":1}');
    expect(b).toBe(a);
  });

  it('writes numbers as JavaScript prints them and -0 as 0', () => {
    expect(canonicalJson([0.1, -0, 1e-7, 1.5, -7])).toBe('[0.1,0,1e-7,1.5,-7]');
  });

  it('refuses what JSON cannot carry exactly, naming where', () => {
    expect(() => canonicalJson({ a: [1, NaN] })).toThrow('non-finite number NaN at .a[1]');
    expect(() => canonicalJson({ big: 2 ** 53 })).toThrow('beyond 2^53: write it as a string at .big');
    expect(() => canonicalJson({ at: new Date(0) })).toThrow('a Date instance is not plain JSON at .at');
    expect(() => canonicalJson({ n: 1n })).toThrow('a bigint cannot be serialised at .n');
    expect(() => canonicalJson([undefined])).toThrow('undefined array element at [0]');
  });

  it('sortKeysDeep gives the same key order as canonicalJson for pretty-printed files', () => {
    const v = { z: [{ b: 1, a: 2 }], a: null };
    expect(JSON.stringify(sortKeysDeep(v))).toBe(canonicalJson(v));
  });
});
