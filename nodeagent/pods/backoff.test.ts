import { describe, expect, it } from 'vitest';
import { crashLoopMessage, formatBackoff, RestartBackoff } from './backoff.js';

const S = 1000;

describe('RestartBackoff', () => {
  it('restarts at once, then waits 10s, 20s, 40s … capped at 5m, counted from each exit', () => {
    const b = new RestartBackoff();
    const waits: number[] = [];
    let now = 0;
    for (let crash = 0; crash < 9; crash++) {
      const finishedAt = now + 1 * S; // each run lasts one second
      now = finishedAt;
      let decision = b.shouldRestart('c', finishedAt, now);
      let waited = 0;
      while (!decision.restart) {
        expect(decision.remainingMs).toBeGreaterThan(0);
        now += decision.remainingMs;
        waited += decision.remainingMs;
        decision = b.shouldRestart('c', finishedAt, now);
      }
      waits.push(waited / S);
    }
    expect(waits).toEqual([0, 10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it.each<[string, number, number, boolean]>([
    // name, crash (finishedAt) after the last restart, check time after the crash, in back-off?
    ['just after a quick crash', 1, 0, true],
    ['9s after a quick crash', 1, 9, true],
    ['10s after a quick crash', 1, 10, false],
    ['crash after 10 minutes of running (exactly)', 600, 0, true],
    ['crash after more than 10 minutes of running', 601, 0, false],
  ])('%s', (_name, ranSeconds, afterSeconds, inBackOff) => {
    const b = new RestartBackoff();
    b.next('c', 0); // the restart that opened a 10s window at t=0
    const finishedAt = ranSeconds * S;
    expect(b.isInBackOffSince('c', finishedAt, finishedAt + afterSeconds * S)).toBe(inBackOff);
  });

  it('starts over after the window expired', () => {
    const b = new RestartBackoff();
    expect(b.next('c', 0)).toBe(10 * S);
    expect(b.next('c', 1 * S)).toBe(20 * S);
    expect(b.next('c', 700 * S)).toBe(10 * S);
  });

  it('reset and noteRunning forget the key; other keys are independent', () => {
    const b = new RestartBackoff();
    b.next('a', 0);
    b.next('a', 1);
    b.next('b', 0);
    expect(b.get('a')).toBe(20 * S);
    b.noteRunning('a', 0, 600 * S); // exactly 10 minutes: not yet
    expect(b.get('a')).toBe(20 * S);
    b.noteRunning('a', 0, 601 * S);
    expect(b.get('a')).toBe(0);
    expect(b.get('b')).toBe(10 * S);
    b.reset('b');
    expect(b.get('b')).toBe(0);
  });

  it('gc drops stale keys', () => {
    const b = new RestartBackoff();
    b.next('old', 0);
    b.next('new', 500 * S);
    b.gc(601 * S);
    expect([b.get('old'), b.get('new')]).toEqual([0, 10 * S]);
  });
});

describe('messages', () => {
  it.each([
    [10 * S, '10s'],
    [80 * S, '1m20s'],
    [300 * S, '5m0s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatBackoff(ms)).toBe(text);
  });

  it('writes the kubelet CrashLoopBackOff message', () => {
    expect(
      crashLoopMessage(20 * S, 'web', { name: 'web-1', namespace: 'default', uid: 'u-1' }),
    ).toBe('back-off 20s restarting failed container=web pod=web-1_default(u-1)');
  });
});
