import { describe, expect, it } from 'vitest';
import { MessageLanes } from './message-lanes.js';

/** A handler that records its start and end, finishing when `release` is called. */
function step(log: string[], name: string): { run: () => Promise<void>; release: () => void } {
  let release = (): void => undefined;
  const done = new Promise<void>((r) => (release = r));
  return {
    run: async () => {
      log.push(`${name}+`);
      await done;
      log.push(`${name}-`);
    },
    release: () => release(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MessageLanes', () => {
  it('keeps one lane in order and runs different lanes at once', async () => {
    const log: string[] = [];
    const lanes = new MessageLanes(() => undefined);
    const a1 = step(log, 'a1');
    const a2 = step(log, 'a2');
    const b1 = step(log, 'b1');
    lanes.push('a', a1.run);
    lanes.push('a', a2.run);
    lanes.push('b', b1.run);
    await tick();
    expect(log).toEqual(['a1+', 'b1+']);
    a1.release();
    await tick();
    expect(log).toEqual(['a1+', 'b1+', 'a1-', 'a2+']);
    a2.release();
    b1.release();
    await tick();
    expect(lanes.busy).toBe(0);
  });

  it('a message outside the lanes waits for all before it, and all after it wait for it', async () => {
    const log: string[] = [];
    const lanes = new MessageLanes(() => undefined);
    const a = step(log, 'a');
    const reg = step(log, 'register');
    const b = step(log, 'b');
    lanes.push('a', a.run);
    lanes.push(undefined, reg.run);
    lanes.push('b', b.run);
    await tick();
    expect(log).toEqual(['a+']);
    a.release();
    await tick();
    expect(log).toEqual(['a+', 'a-', 'register+']);
    reg.release();
    await tick();
    expect(log).toEqual(['a+', 'a-', 'register+', 'register-', 'b+']);
    b.release();
  });

  it('a failed message is reported and does not stop its lane', async () => {
    const errors: unknown[] = [];
    const log: string[] = [];
    const lanes = new MessageLanes((err) => errors.push(err));
    lanes.push('a', () => Promise.reject(new Error('boom')));
    lanes.push('a', async () => void log.push('after'));
    await tick();
    await tick();
    expect(errors).toHaveLength(1);
    expect(log).toEqual(['after']);
  });
});
