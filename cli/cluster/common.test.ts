import { afterEach, describe, expect, it, vi } from 'vitest';
import { clusterDown, clusterUp } from './index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cluster up and down', () => {
  it('refuse to run as anyone but root, before touching anything', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    await expect(clusterUp({ name: 'dev', stateDir: '/nonexistent' })).rejects.toThrow(
      /cluster up must run as root/,
    );
    await expect(clusterDown({ name: 'dev', stateDir: '/nonexistent' })).rejects.toThrow(
      /cluster down must run as root/,
    );
  });

  it('reject a name that would not fit an interface name', async () => {
    await expect(clusterUp({ name: 'muchtoolongname', stateDir: '/nonexistent' })).rejects.toThrow(
      /1-9 lowercase letters or digits/,
    );
  });
});
