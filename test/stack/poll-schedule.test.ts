// How a stack runs its NAPI turns (src/stack/link/link.ts): an interrupt's turn runs as a microtask,
// as net_rx_action on irq exit, at most 10 per task before the next goes to the scheduler
// (ksoftirqd); a stack given its own scheduler has every turn run through it.
import { describe, expect, it } from 'vitest';
import { makePair, runUntil } from './harness.ts';
import { in4 } from '../../src/wire/index.ts';

/** Resolves with 'task' once the event loop has run a task (its check phase). */
const aTask = (): Promise<'task'> => new Promise((r) => setImmediate(() => r('task')));

describe('poll turns', () => {
  it("an interrupt runs the turn as a microtask: a ping's round trip needs no task", async () => {
    const p = makePair();
    // ARP first, then a ping whose whole round trip (both stacks' polls) runs in microtasks.
    await Promise.all([
      p.b.ping('10.0.0.1'),
      runUntil(p, () => p.b.ipv4.arp.cache.get(in4(0x0a000001)) !== undefined),
    ]);
    const before = p.a.counters.rxFrames;
    const first = await Promise.race([p.b.ping('10.0.0.1'), aTask()]);
    expect(first).not.toBe('task');
    expect(p.a.counters.rxFrames).toBe(before + 1);
  });

  it('after 10 microtask turns in one task the next turn waits for a task (ksoftirqd)', async () => {
    const p = makePair();
    await Promise.all([
      p.b.ping('10.0.0.1'),
      runUntil(p, () => p.b.ipv4.arp.cache.get(in4(0x0a000001)) !== undefined),
    ]);
    await aTask();
    // Pings one after the other, each sent when the last reply arrived: every round trip is one
    // turn at a and one at b, all microtasks, until a Link has run 10 in this task.
    let done = 0;
    const chain = (async () => {
      for (let k = 0; k < 12; k++) {
        await p.b.ping('10.0.0.1');
        done++;
      }
    })();
    expect(await aTask()).toBe('task');
    expect(done).toBe(10);
    await chain;
    expect(done).toBe(12);
  });

  it('a stack given a scheduler runs every turn through it', async () => {
    const turns: (() => void)[] = [];
    const p = makePair({ a: { schedule: (fn) => turns.push(fn) } });
    void p.b.ping('10.0.0.1', { timeout: 200 }).catch(() => {});
    // b's ARP request reaches a's NetIf: a's interrupt must not poll by itself.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    expect(p.a.counters.rxFrames).toBe(0);
    expect(turns.length).toBeGreaterThan(0);
    while (turns.length > 0) turns.shift()!();
    expect(p.a.counters.rxFrames).toBeGreaterThan(0);
  });
});
