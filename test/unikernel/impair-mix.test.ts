// Issue 6, integrity under impairment, beyond loss: duplication, reordering, a mix (corruption
// included), loss of TSO super-frames, and exact replay of a seed, on the real packet path on a
// virtual clock (test/support/impair-transfer.ts). 32 MiB each way at once unless said otherwise.
import { afterEach, describe, expect, it } from 'vitest';
import type { Unikernel } from '../../src/unikernel/index.ts';
import {
  IMPAIR_SEED,
  describeRun,
  expectCorruptionCaught,
  expectIntact,
  expectSackRecovery,
  impairedTransfer,
} from '../support/impair-transfer.ts';

const booted: Unikernel[] = [];
afterEach(() => {
  for (const u of booted.splice(0)) u.shutdown();
});

const seed = IMPAIR_SEED;

describe(`impairment through ptnet over VALE (seed ${seed})`, () => {
  it('5 % duplication: intact, and no copy is mistaken for a loss', async () => {
    const r = await impairedTransfer(
      { impair: { duplicate: 0.05 }, seed, mib: 32, offloads: [false, false] },
      booted,
    );
    console.log(describeRun('5 % duplication', seed, r));
    expectIntact(r, seed);
    for (const [rx, tx] of [
      [r.a, r.b],
      [r.b, r.a],
    ] as const) {
      // About 5 % more frames arrived than were sent.
      const extra = rx.netif.counters.rxPackets / tx.netif.counters.txPackets - 1;
      expect(extra).toBeGreaterThan(0.025);
      expect(extra).toBeLessThan(0.1);
      // Nothing was lost (no ring overflow either), so any retransmission would be spurious:
      // copies of an ACK carry no new SACK information (RFC 6675 §2).
      expect(rx.port.datapath.drops().NO_SPACE).toBe(0);
      expect(rx.stack.tcp.counters.retransSegs).toBe(0);
      expect(rx.stack.tcp.counters.fastRetrans).toBe(0);
    }
  });

  it('5 % reordering: intact, one-place swaps stay below DupThresh', async () => {
    const r = await impairedTransfer(
      { impair: { reorder: 0.05 }, seed, mib: 32, offloads: [false, false] },
      booted,
    );
    console.log(describeRun('5 % reordering', seed, r));
    expectIntact(r, seed);
    for (const u of [r.a, r.b]) {
      expect(u.port.datapath.drops().NO_SPACE).toBe(0);
      expect(u.stack.tcp.counters.retransSegs).toBe(0);
    }
  });

  it('mix of 2 % loss, 2 % duplication, 2 % reordering, 0.5 % corruption', async () => {
    const impair = { drop: 0.02, duplicate: 0.02, reorder: 0.02, corrupt: 0.005 };
    const r = await impairedTransfer({ impair, seed, mib: 32, offloads: [false, false] }, booted);
    console.log(describeRun('mix', seed, r));
    expectIntact(r, seed);
    expectCorruptionCaught(r);
    expectSackRecovery(r);
  });

  it("the mix with every frame's replies flushed at once (concurrentPeer), duplication 5 %: intact, no ring overflow", async () => {
    const impair = { drop: 0.02, duplicate: 0.05, reorder: 0.02, corrupt: 0.005 };
    const r = await impairedTransfer(
      { impair, seed, mib: 32, offloads: [false, false], concurrentPeer: true },
      booted,
    );
    console.log(describeRun('mix, replies per frame', seed, r));
    expect(r.a.netif.concurrentPeer && r.b.netif.concurrentPeer).toBe(true);
    expectIntact(r, seed);
    expectCorruptionCaught(r);
    expectSackRecovery(r);
    for (const u of [r.a, r.b]) expect(u.port.datapath.drops().NO_SPACE).toBe(0);
  });

  it('a seed replays exactly: same virtual time, turns and counters', async () => {
    const impair = { drop: 0.05, duplicate: 0.02, reorder: 0.02, corrupt: 0.01 };
    const fingerprint = async (): Promise<string> => {
      const r = await impairedTransfer({ impair, seed, mib: 2, offloads: [true, false] }, booted);
      expectIntact(r, seed);
      return describeRun('replay', seed, r);
    };
    expect(await fingerprint()).toBe(await fingerprint());
  });

  it('5 % loss, offloads on at both ends: whole TSO super-frames lost, recovered', async () => {
    const r = await impairedTransfer(
      { impair: { drop: 0.05 }, seed, mib: 32, offloads: [true, true] },
      booted,
    );
    console.log(describeRun('5 % loss, offloads on', seed, r));
    expect(r.a.stack.tso && r.b.stack.tso).toBe(true);
    expectIntact(r, seed);
    expectSackRecovery(r);
  });
});
