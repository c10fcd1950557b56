import { describe, expect, it } from 'vitest';
import { admitsJson, parseAccept } from './accept.js';

describe('parseAccept', () => {
  it('keeps parameters and the client order', () => {
    const ranges = parseAccept(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList, application/json',
    );
    expect(ranges).toEqual([
      {
        type: 'application',
        subtype: 'json',
        params: { g: 'apidiscovery.k8s.io', v: 'v2', as: 'APIGroupDiscoveryList' },
        q: 1,
      },
      { type: 'application', subtype: 'json', params: {}, q: 1 },
    ]);
  });

  it('orders by q and drops q=0', () => {
    expect(
      parseAccept('text/plain;q=0.2, application/json, application/yaml;q=0').map((r) => r.subtype),
    ).toEqual(['json', 'plain']);
  });

  it('treats a missing header as */*', () => {
    expect(parseAccept(undefined).some(admitsJson)).toBe(true);
  });

  it.each([
    ['application/json', true],
    ['*/*', true],
    ['application/*', true],
    ['application/json;as=Table;v=v1;g=meta.k8s.io', false],
    ['application/vnd.kubernetes.protobuf', false],
  ])('%s admits plain JSON: %s', (header, ok) => {
    expect(parseAccept(header).some(admitsJson)).toBe(ok);
  });
});
