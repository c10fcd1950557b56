import { describe, expect, it } from 'vitest';
import {
  MediaType,
  parseChallenge,
  selectPlatform,
  type Descriptor,
  type Platform,
} from './registry-client.js';

describe('parseChallenge', () => {
  const cases: [header: string | null, expected: ReturnType<typeof parseChallenge>][] = [
    [null, undefined],
    ['', undefined],
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/busybox:pull',
        },
      },
    ],
    [
      'Bearer realm="https://r/t", error="insufficient_scope", scope="repository:a:pull,push"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://r/t',
          error: 'insufficient_scope',
          scope: 'repository:a:pull,push',
        },
      },
    ],
    [
      'bearer Realm=https://r/t,Service=s',
      { scheme: 'bearer', params: { realm: 'https://r/t', service: 's' } },
    ],
    [
      'Bearer realm="a \\"quoted\\" realm"',
      { scheme: 'bearer', params: { realm: 'a "quoted" realm' } },
    ],
  ];
  it.each(cases)('%j', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });
});

describe('selectPlatform', () => {
  const d = (
    n: number,
    platform?: Platform,
    mediaType: string = MediaType.OciManifest,
  ): Descriptor => ({
    mediaType,
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: n,
    ...(platform ? { platform } : {}),
  });
  const amd64 = { os: 'linux', architecture: 'amd64' };
  const cases: [name: string, manifests: Descriptor[], want: Platform, pick: number | undefined][] =
    [
      ['the matching entry', [d(1, { os: 'linux', architecture: 'arm64' }), d(2, amd64)], amd64, 2],
      ['not another OS', [d(1, { os: 'windows', architecture: 'amd64' })], amd64, undefined],
      ['not an entry without a platform', [d(1)], amd64, undefined],
      [
        'not a nested index',
        [d(1, amd64, MediaType.OciIndex), d(2, amd64, MediaType.DockerManifest)],
        amd64,
        2,
      ],
      [
        'the exact variant first',
        [
          d(1, { os: 'linux', architecture: 'arm', variant: 'v6' }),
          d(2, { os: 'linux', architecture: 'arm', variant: 'v7' }),
        ],
        { os: 'linux', architecture: 'arm', variant: 'v7' },
        2,
      ],
      [
        'an entry naming no variant',
        [d(1, { os: 'linux', architecture: 'arm64' })],
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
        1,
      ],
    ];
  it.each(cases)('picks %s', (_name, manifests, want, pick) => {
    expect(selectPlatform({ mediaType: MediaType.OciIndex, manifests }, want)?.size).toBe(pick);
  });
});
