// A persistentVolumeClaim volume on this node: Bound to a volume of this node, or a reason to wait.

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../controlplane/api/objects.js';
import { claimVolumePath } from './claims.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-claims-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} };

const claim = (bound: boolean): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data' },
  spec: bound ? { volumeName: 'pv-1' } : {},
  status: { phase: bound ? 'Bound' : 'Pending' },
});

const volume = (node: string, path: string, modes = ['ReadWriteOnce']): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv-1' },
  spec: {
    accessModes: modes,
    local: { path },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
        ],
      },
    },
  },
});

function input(c: KubeObject | undefined, v: KubeObject | undefined, readOnly = false) {
  return {
    claimName: 'data',
    readOnly,
    pod,
    claims: new Map(c ? [['data', c]] : []),
    volumes: new Map(v ? [['pv-1', v]] : []),
    nodeName: 'n1',
  };
}

describe('claimVolumePath', () => {
  it('waits for a missing or unbound claim and refuses a volume of another node', async () => {
    expect(await claimVolumePath(input(undefined, undefined))).toBe(
      'persistentvolumeclaim "data" not found',
    );
    expect(await claimVolumePath(input(claim(false), undefined))).toBe(
      'persistentvolumeclaim "data" is not bound yet',
    );
    expect(await claimVolumePath(input(claim(true), undefined))).toBe(
      'persistentvolume "pv-1" not found',
    );
    expect(await claimVolumePath(input(claim(true), volume('n2', join(dir, 'x'))))).toBe(
      'persistentvolume "pv-1" is on node "n2", not on this node "n1"',
    );
  });

  it('creates the directory of a new local volume, world-writable, and honours readOnly', async () => {
    const path = join(dir, 'volumes', 'pv-1');
    expect(await claimVolumePath(input(claim(true), volume('n1', path)))).toEqual({
      hostPath: path,
      readOnly: false,
    });
    expect((await stat(path)).mode & 0o777).toBe(0o777);
    expect(await claimVolumePath(input(claim(true), volume('n1', path), true))).toEqual({
      hostPath: path,
      readOnly: true,
    });
    expect(await claimVolumePath(input(claim(true), volume('n1', path, ['ReadOnlyMany'])))).toEqual(
      { hostPath: path, readOnly: true },
    );
  });
});
