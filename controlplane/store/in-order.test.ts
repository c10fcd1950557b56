import { describe, expect, it } from 'vitest';
import { InOrder } from './in-order.js';

describe('InOrder', () => {
  it('runs steps in the order added, a slow one holding back the rest', async () => {
    const q = new InOrder();
    const seen: string[] = [];
    let release = (): void => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    expect(q.busy).toBe(false);
    q.add(async () => {
      await slow;
      seen.push('slow');
    }, fail);
    q.add(() => void seen.push('quick'), fail);
    expect(q.busy).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([]);
    release();
    await until(() => !q.busy);
    expect(seen).toEqual(['slow', 'quick']);
  });

  it('hands a failed step to onError and goes on with the next', async () => {
    const q = new InOrder();
    const seen: string[] = [];
    q.add(
      () => Promise.reject(new Error('read failed')),
      (err) => seen.push(`error: ${err.message}`),
    );
    q.add(() => void seen.push('next'), fail);
    await until(() => !q.busy);
    expect(seen).toEqual(['error: read failed', 'next']);
  });
});

function fail(err: Error): never {
  throw err;
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 1));
}
