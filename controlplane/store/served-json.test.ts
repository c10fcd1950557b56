import { describe, expect, it } from 'vitest';
import { withResourceVersion } from './served-json.js';

const served = (obj: unknown, revision: number): unknown => {
  const out = withResourceVersion(Buffer.from(JSON.stringify(obj)), revision);
  return out === undefined ? undefined : JSON.parse(Buffer.concat(out).toString());
};

describe('withResourceVersion', () => {
  it('adds the revision to the top-level metadata, leaving the rest as stored', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'a', labels: { x: '"metadata":{' } },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    };
    expect(served(pod, 42)).toEqual({
      ...pod,
      metadata: { ...pod.metadata, resourceVersion: '42' },
    });
  });

  it('skips metadata nested before the top-level one, and strings that look like it', () => {
    const rs = {
      spec: { template: { metadata: { labels: { a: 'b' } } }, note: '{"metadata":{"x":1}}' },
      metadata: { name: 'rs' },
      '"metadata":{': 1,
    };
    expect(served(rs, 7)).toEqual({ ...rs, metadata: { name: 'rs', resourceVersion: '7' } });
  });

  it('handles empty metadata, escapes, and JSON without top-level metadata', () => {
    expect(served({ s: 'a\\', metadata: {} }, 3)).toEqual({
      s: 'a\\',
      metadata: { resourceVersion: '3' },
    });
    expect(served({ spec: { metadata: { name: 'x' } } }, 3)).toBeUndefined();
  });
});
