import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RealTimeDriver, StackError, VirtualClock } from '../../src/stack/index.ts';

describe('TimerQueue on a VirtualClock', () => {
  it('fires in deadline order at the time each was due', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10000 }), { maxLength: 60 }),
        fc.array(fc.boolean()),
        fc.array(fc.option(fc.integer({ min: 0, max: 10000 }))),
        (first, cancels, moves) => {
          const clk = new VirtualClock(5);
          const fired: [number, number][] = [];
          const ds = [...first];
          const ts = ds.map((d, i) => {
            const t = clk.timers.timer((now) => fired.push([i, now]));
            t.arm(d);
            return t;
          });
          // Armed timers moved earlier or later in the heap (Timer.armAt, TimerQueue.place).
          ts.forEach((t, i) => {
            const m = moves[i];
            if (m === undefined || m === null) return;
            t.armAt(5 + m);
            ds[i] = m;
          });
          const live = new Set(ds.map((_, i) => i));
          ts.forEach((t, i) => {
            if (cancels[i]) {
              t.cancel();
              live.delete(i);
            }
          });
          clk.advance(10001);
          expect(fired.map(([i]) => i).sort((a, b) => a - b)).toEqual([...live].sort((a, b) => a - b));
          for (const [i, now] of fired) expect(now).toBe(5 + ds[i]!);
          for (let k = 1; k < fired.length; k++)
            expect(fired[k]![1]).toBeGreaterThanOrEqual(fired[k - 1]![1]);
          expect(clk.timers.size).toBe(0);
        },
      ),
    );
  });

  it('re-arming moves a timer and a callback may re-arm itself', () => {
    const clk = new VirtualClock();
    let n = 0;
    const t = clk.timers.timer(() => {
      if (++n < 3) t.arm(10);
    });
    t.arm(100);
    t.arm(5);
    clk.advance(4);
    expect(n).toBe(0);
    clk.advance(30);
    expect(n).toBe(3);
    expect(t.armed).toBe(false);
    expect(() => clk.advance(-1)).toThrow(StackError);
    expect(() => t.armAt(NaN)).toThrow(StackError);
    // Refused before anything is stored: an armed timer keeps its deadline and its place.
    const u = clk.timers.timer(() => n++);
    u.arm(7);
    expect(() => u.arm(Infinity)).toThrow(StackError);
    expect(() => u.armAt(NaN)).toThrow(StackError);
    expect(u.deadline).toBe(clk.now() + 7);
    clk.advance(7);
    expect(n).toBe(4);
  });

  it('RealTimeDriver fires through setTimeout, re-aimed by arming alone', async () => {
    const d = new RealTimeDriver();
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      // A late timer first: the host timer is aimed at 200 ms; the earlier one must re-aim it.
      d.timers.timer(() => order.push('late')).arm(200);
      const t0 = performance.now();
      d.timers
        .timer(() => {
          order.push(`early ${performance.now() - t0 < 150}`);
          resolve();
        })
        .arm(5);
    });
    expect(order).toEqual(['early true']);
    d.stop();
  });
});
