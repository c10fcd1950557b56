import { describe, expect, it } from 'vitest';
import { parseQuantity, quantityMilliValue, quantityValue } from './quantity.js';

describe('parseQuantity', () => {
  it.each<[string | number, bigint, bigint]>([
    // input, Value(), MilliValue()
    ['1', 1n, 1000n],
    ['250m', 1n, 250n],
    ['0.3', 1n, 300n],
    ['2.007', 3n, 2007n],
    ['1.5', 2n, 1500n],
    ['64Mi', 67108864n, 67108864000n],
    ['1Ki', 1024n, 1024000n],
    ['1k', 1000n, 1000000n],
    ['1e3', 1000n, 1000000n],
    ['1.5E-3', 1n, 2n],
    ['100n', 1n, 1n],
    ['2G', 2000000000n, 2000000000000n],
    [0.5, 1n, 500n],
    ['-1', -1n, -1000n],
  ])('%s', (text, value, milli) => {
    const q = parseQuantity(text);
    expect(q).toBeDefined();
    if (!q) return;
    expect(quantityValue(q)).toBe(value);
    expect(quantityMilliValue(q)).toBe(milli);
  });

  it.each(['', 'abc', '1 Mi', '1mi', '--1', '1.2.3'])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
