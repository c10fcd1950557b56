import { describe, expect, it } from 'vitest';
import { SchedulerCache } from './cache.js';
import { parsePod } from './pod-info.js';
import { makeNode, makePod } from './scheduler.fixture.js';

const bound = (name: string, node: string, f: Parameters<typeof makePod>[1] = {}) =>
  makePod(name, { ...f, nodeName: node, phase: f.phase ?? 'Running' });

describe('SchedulerCache', () => {
  it('adds up what bound pods request per node', () => {
    const c = new SchedulerCache();
    c.setNode(makeNode('a'));
    c.setPod(bound('x', 'a', { cpu: '500m', memory: '1Gi', owner: 'rs' }));
    c.setPod(bound('y', 'a', { cpu: '1', owner: 'rs' }));
    const a = c.get('a')!;
    expect(a.requested).toMatchObject({ milliCpu: 1500, memory: 1024 ** 3, pods: 2 });
    expect(a.ownerCounts.get('uid-rs')).toBe(2);
    c.removePod('default/x');
    expect(a.requested).toMatchObject({ milliCpu: 1000, memory: 0, pods: 1 });
  });

  it('releases a pod that finished', () => {
    const c = new SchedulerCache();
    c.setNode(makeNode('a'));
    c.setPod(bound('x', 'a', { cpu: '1' }));
    c.setPod(bound('x', 'a', { cpu: '1', phase: 'Succeeded' }));
    expect(c.get('a')!.requested.milliCpu).toBe(0);
  });

  it('counts an assumed pod until the bind is confirmed or forgotten', () => {
    const c = new SchedulerCache();
    c.setNode(makeNode('a'));
    const pending = makePod('x', { cpu: '1' });
    const v0 = c.version;
    c.assume(parsePod(pending), 'a');
    expect(c.version).not.toBe(v0);
    expect(c.get('a')!.requested.milliCpu).toBe(1000);
    expect(c.isAssumed('default/x')).toBe(true);
    // The informer reports the pod still unbound (our own status write): the assumption holds.
    c.setPod(pending);
    expect(c.get('a')!.requested.milliCpu).toBe(1000);
    // Confirmed by the informer: no longer assumed, forget() leaves it.
    c.setPod(bound('x', 'a', { cpu: '1' }));
    expect(c.isAssumed('default/x')).toBe(false);
    c.forget('default/x');
    expect(c.get('a')!.requested.milliCpu).toBe(1000);
  });

  it('forgets a failed assumption', () => {
    const c = new SchedulerCache();
    c.setNode(makeNode('a'));
    c.assume(parsePod(makePod('x', { cpu: '1' })), 'a');
    c.forget('default/x');
    expect(c.get('a')!.requested.milliCpu).toBe(0);
    expect(c.podCount).toBe(0);
  });

  it('keeps pods bound to a node it has not seen, and shows the node once it arrives', () => {
    const c = new SchedulerCache();
    c.setPod(bound('x', 'late', { cpu: '1' }));
    expect(c.nodes).toHaveLength(0);
    c.setNode(makeNode('late'));
    expect(c.nodes.map((n) => n.name)).toEqual(['late']);
    expect(c.get('late')!.requested.milliCpu).toBe(1000);
    c.removeNode('late');
    expect(c.get('late')).toBeUndefined();
  });
});
