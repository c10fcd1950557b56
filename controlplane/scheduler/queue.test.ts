import { afterEach, describe, expect, it, vi } from 'vitest';
import { SchedulingQueue } from './queue.js';
import { makePod } from './scheduler.fixture.js';

afterEach(() => {
  vi.useRealTimers();
});

async function popNames(q: SchedulingQueue, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await q.pop())!.pod.metadata.name!);
  return out;
}

describe('SchedulingQueue', () => {
  it('pops by priority, then creation time, then arrival', async () => {
    const q = new SchedulingQueue();
    q.add(makePod('low-old', { priority: 0, created: '2024-01-01T00:00:00Z' }));
    q.add(makePod('high', { priority: 100, created: '2024-01-01T00:00:05Z' }));
    q.add(makePod('low-new', { priority: 0, created: '2024-01-01T00:00:03Z' }));
    q.add(makePod('low-old-2', { priority: 0, created: '2024-01-01T00:00:00Z' }));
    expect(await popNames(q, 4)).toEqual(['high', 'low-old', 'low-old-2', 'low-new']);
    expect(q.pending).toBe(4);
    q.close();
  });

  it('waits for a pod when empty, and ends waiting on close', async () => {
    const q = new SchedulingQueue();
    const waiting = q.pop();
    q.add(makePod('a'));
    expect((await waiting)?.key).toBe('default/a');
    const ended = q.pop();
    q.close();
    expect(await ended).toBeUndefined();
  });

  it('backs off 1 s doubling to 10 s', async () => {
    vi.useFakeTimers();
    const q = new SchedulingQueue();
    q.add(makePod('a'));
    const delays: number[] = [];
    let item = await q.pop();
    for (let attempt = 0; attempt < 5; attempt++) {
      q.backoff(item!.key);
      let next: Awaited<ReturnType<SchedulingQueue['pop']>>;
      void q.pop().then((v) => (next = v));
      let waited = 0;
      while (next === undefined) {
        await vi.advanceTimersByTimeAsync(500);
        waited += 500;
      }
      delays.push(waited);
      item = next;
    }
    expect(delays.slice(0, 5)).toEqual([1000, 2000, 4000, 8000, 10000]);
    q.close();
  });

  it('moves backing-off pods back at once on a cluster event', async () => {
    vi.useFakeTimers();
    const q = new SchedulingQueue();
    q.add(makePod('a'));
    q.backoff((await q.pop())!.key);
    let next: unknown;
    void q.pop().then((v) => (next = v));
    await vi.advanceTimersByTimeAsync(10);
    expect(next).toBeUndefined();
    q.moveAllToActive();
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toMatchObject({ key: 'default/a', attempts: 1 });
    q.close();
  });

  it('a spec change ends the backoff; a status-only update does not', async () => {
    vi.useFakeTimers();
    const q = new SchedulingQueue();
    q.add(makePod('a'));
    q.backoff((await q.pop())!.key);
    let next: unknown;
    void q.pop().then((v) => (next = v));
    q.add(makePod('a'), false);
    await vi.advanceTimersByTimeAsync(10);
    expect(next).toBeUndefined();
    q.add(makePod('a', { labels: { x: 'y' } }), true);
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toMatchObject({ key: 'default/a' });
    q.close();
  });

  it('forgets deleted pods, even from the heap', async () => {
    const q = new SchedulingQueue();
    q.add(makePod('a'));
    q.add(makePod('b'));
    q.delete('default/a');
    expect(await popNames(q, 1)).toEqual(['b']);
    expect(q.pending).toBe(1);
    q.close();
  });

  it('moves only pods waiting for pods when asked', async () => {
    vi.useFakeTimers();
    const q = new SchedulingQueue();
    q.add(makePod('aff'));
    q.add(makePod('mem'));
    const [first, second] = [await q.pop(), await q.pop()];
    q.backoff(first!.key, { waitsForPods: true });
    q.backoff(second!.key);
    q.moveAllToActive({ onlyWaitingForPods: true });
    expect((await q.pop())?.key).toBe('default/aff');
    expect(q.activeCount).toBe(0);
    q.close();
  });
});
