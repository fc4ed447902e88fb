import { describe, expect, it } from 'vitest';
import { NeighbourCache, StackError, VirtualClock } from '../../src/stack/index.ts';

const MAC1 = new Uint8Array([2, 0, 0, 0, 0, 1]);
const MAC2 = new Uint8Array([2, 0, 0, 0, 0, 2]);

function setup(params = {}) {
  const clk = new VirtualClock(0);
  const log: string[] = [];
  const cache = new NeighbourCache<number, string>(
    clk.timers,
    {
      solicit: (k, ll) => log.push(`solicit ${k} ${ll === null ? 'mcast' : `ucast ${ll[5]}`}`),
      flush: (k, p, ll) => log.push(`flush ${k} ${p} ${ll[5]}`),
      drop: (k, p, why) => log.push(`drop ${k} ${p} ${why}`),
    },
    params,
    () => 0.5, // ReachableTime = BaseReachableTime exactly
  );
  return { clk, log, cache };
}

describe('neighbour cache (RFC 4861 §7.3)', () => {
  it('INCOMPLETE queues (bounded, oldest dropped) and a solicited reply flushes', () => {
    const { clk, log, cache } = setup({ queueLen: 3 });
    expect(cache.resolve(7, 'p1', 0)).toBeNull();
    cache.resolve(7, 'p2', 0);
    cache.resolve(7, 'p3', 0);
    cache.resolve(7, 'p4', 0);
    expect(log).toEqual(['solicit 7 mcast', 'drop 7 p1 overflow']);
    expect(cache.get(7)!.state).toBe('INCOMPLETE');
    clk.advance(1000);
    expect(log.at(-1)).toBe('solicit 7 mcast');
    cache.advertisement(7, MAC1, true, true, false, clk.now());
    expect(cache.get(7)!.state).toBe('REACHABLE');
    expect(log.slice(-3)).toEqual(['flush 7 p2 1', 'flush 7 p3 1', 'flush 7 p4 1']);
    expect(cache.resolve(7, 'p5', clk.now())).toEqual(MAC1);
    expect(cache.counters.resolved).toBe(1);
  });

  it('gives up after MAX_MULTICAST_SOLICIT and drops the queue', () => {
    const { clk, log, cache } = setup();
    cache.resolve(9, 'a', 0);
    clk.advance(2999);
    expect(log.filter((l) => l.startsWith('solicit')).length).toBe(3);
    expect(cache.get(9)).toBeDefined();
    clk.advance(1);
    expect(cache.get(9)).toBeUndefined();
    expect(log.at(-1)).toBe('drop 9 a failed');
    expect(cache.counters.failed).toBe(1);
  });

  it('REACHABLE → STALE → DELAY → PROBE → gone, and confirmation returns to REACHABLE', () => {
    const { clk, log, cache } = setup();
    cache.resolve(1, 'x', 0);
    cache.advertisement(1, MAC1, true, false, true, 0);
    expect(cache.get(1)!.isRouter).toBe(true);
    clk.advance(30000);
    expect(cache.get(1)!.state).toBe('STALE');
    expect(cache.resolve(1, 'y', clk.now())).toEqual(MAC1);
    expect(cache.get(1)!.state).toBe('DELAY');
    clk.advance(4000);
    cache.confirm(1, clk.now());
    expect(cache.get(1)!.state).toBe('REACHABLE');
    clk.advance(30000);
    cache.resolve(1, 'z', clk.now());
    clk.advance(5000);
    expect(cache.get(1)!.state).toBe('PROBE');
    expect(log.at(-1)).toBe('solicit 1 ucast 1');
    clk.advance(2000);
    expect(cache.get(1)!.probes).toBe(3);
    clk.advance(1000);
    expect(cache.get(1)).toBeUndefined();
  });

  it('RFC 4861 §7.2.5 override rules and §7.2.3 learning', () => {
    const { cache } = setup();
    cache.advertisement(3, MAC1, true, true, false, 0); // no entry: ignored
    expect(cache.get(3)).toBeUndefined();
    cache.learned(3, MAC1);
    expect(cache.get(3)!.state).toBe('STALE');
    cache.advertisement(3, MAC1, true, false, false, 0);
    expect(cache.get(3)!.state).toBe('REACHABLE');
    // Different address without override: keep the address, REACHABLE → STALE.
    cache.advertisement(3, MAC2, false, false, false, 0);
    expect(cache.get(3)!.state).toBe('STALE');
    expect(cache.get(3)!.lladdr).toEqual(MAC1);
    // With override, unsolicited: update and STALE.
    cache.advertisement(3, MAC2, false, true, false, 0);
    expect(cache.get(3)!.lladdr).toEqual(MAC2);
    expect(cache.get(3)!.state).toBe('STALE');
    // A solicitation with a new address updates to STALE; same address changes nothing.
    cache.confirm(3, 0);
    cache.learned(3, MAC2);
    expect(cache.get(3)!.state).toBe('REACHABLE');
    cache.learned(3, MAC1);
    expect(cache.get(3)!.state).toBe('STALE');
    expect(cache.get(3)!.lladdr).toEqual(MAC1);
  });

  it('is bounded: evicts STALE entries, refuses when none', () => {
    const { log, cache } = setup({ maxEntries: 2 });
    cache.learned(1, MAC1);
    cache.resolve(2, 'a', 0);
    cache.resolve(3, 'b', 0); // evicts STALE 1
    expect(cache.get(1)).toBeUndefined();
    expect(cache.counters.evictions).toBe(1);
    cache.resolve(4, 'c', 0); // both INCOMPLETE: refused
    expect(log.at(-1)).toBe('drop 4 c failed');
    expect(cache.counters.tableFull).toBe(1);
    expect(() => setup({ queueLen: 0 })).toThrow(StackError);
    expect(() => setup({ queueBytes: 0 })).toThrow(StackError);
  });

  it('defaults to Linux: 101 packets (unres_qlen) within 212992 bytes (unres_qlen_bytes)', () => {
    const { log, cache } = setup();
    expect(cache.params.queueLen).toBe(101);
    expect(cache.params.queueBytes).toBe(212992);
    for (let i = 0; i < 105; i++) cache.resolve(7, `p${i}`, 0);
    expect(cache.get(7)!.queue.length).toBe(101);
    expect(log.filter((l) => l.endsWith('overflow'))).toEqual(
      [0, 1, 2, 3].map((i) => `drop 7 p${i} overflow`),
    );
  });

  it('charges truesize against the byte bound and drops from the head (__neigh_event_send)', () => {
    const clk = new VirtualClock(0);
    const log: string[] = [];
    const cache = new NeighbourCache<number, string>(
      clk.timers,
      {
        solicit: () => {},
        flush: (_k, p) => log.push(`flush ${p}`),
        drop: (_k, p) => log.push(`drop ${p}`),
        truesize: (p) => p.length * 100,
      },
      { queueBytes: 1000 },
    );
    cache.resolve(1, 'aaaa', 0); // 400
    cache.resolve(1, 'bbbb', 0); // 800
    cache.resolve(1, 'cc', 0); // 1000: fits exactly
    expect(log).toEqual([]);
    cache.resolve(1, 'ddddd', 0); // 1500: a and b go
    expect(log).toEqual(['drop aaaa', 'drop bbbb']);
    expect(cache.get(1)!.queueBytes).toBe(700);
    cache.resolve(1, 'x'.repeat(20), 0); // larger than the bound alone: still queued, alone
    expect(cache.get(1)!.queue).toEqual(['x'.repeat(20)]);
    cache.advertisement(1, MAC1, true, true, false, 0);
    expect(log.at(-1)).toBe(`flush ${'x'.repeat(20)}`);
    expect(cache.get(1)!.queueBytes).toBe(0);
  });
});
