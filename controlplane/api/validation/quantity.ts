// resource.Quantity, the number format of requests, limits and capacities:
// a decimal mantissa with an SI suffix (m, k, M, G …), a binary suffix
// (Ki, Mi, Gi …) or an exponent (e3, E-2). Parsed as Go's ParseQuantity
// does, including what it rejects ("1K", "1e", "1.2.3").

import type { FieldError } from '../status.js';
import { invalid } from './field.js';

const DECIMAL_EXPONENTS: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const BINARY_POWERS: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const QUANTITY_RE = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eEinumkKMGTP]*[-+]?[0-9]*)$/;

export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/**
 * The value of a Kubernetes quantity in base units ("500m" → 0.5, "128Mi" →
 * 134217728, "2e3" → 2000); a JSON number is taken as its decimal text, as
 * Go's decoder does. Undefined when the text is not a quantity. Values beyond
 * float range come back as ±Infinity (Go keeps them exactly; no resource here
 * is that large).
 */
export function parseQuantity(s: string | number): number | undefined {
  if (typeof s === 'number') return Number.isFinite(s) ? s : undefined;
  if (typeof s !== 'string') return parse(s);
  // Every pod of a workload carries the same few quantities: each is parsed once.
  let n = PARSED.get(s);
  if (n === undefined && !PARSED.has(s)) {
    n = parse(s);
    if (PARSED.size >= MAX_PARSED) PARSED.clear();
    PARSED.set(s, n);
  }
  return n;
}

const PARSED = new Map<string, number | undefined>();
const MAX_PARSED = 4096;

function parse(s: string): number | undefined {
  const m = QUANTITY_RE.exec(s);
  if (!m) return undefined;
  const mantissa = m[1] ?? '';
  const suffix = m[2] ?? '';
  const dec = DECIMAL_EXPONENTS[suffix];
  if (dec !== undefined) return Number(`${mantissa}e${dec}`);
  const bin = BINARY_POWERS[suffix];
  if (bin !== undefined) return Number(mantissa) * 2 ** bin;
  // Only an exponent is left: [eE] and a signed integer.
  const exp = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
  if (!exp) return undefined;
  return Number(`${mantissa}e${exp[1] ?? '0'}`);
}

/**
 * Checks one quantity field: that it parses and is not negative (Go's
 * ValidateResourceQuantityValue). Returns the parsed value when it is valid.
 */
export function validateQuantity(
  value: unknown,
  path: string,
  errs: FieldError[],
): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') {
    errs.push(invalid(path, value, QUANTITY_FORMAT_ERROR));
    return undefined;
  }
  const n = parseQuantity(value);
  if (n === undefined) {
    errs.push(invalid(path, value, QUANTITY_FORMAT_ERROR));
    return undefined;
  }
  if (n < 0) {
    errs.push(invalid(path, String(value), 'must be greater than or equal to 0'));
    return undefined;
  }
  return n;
}
