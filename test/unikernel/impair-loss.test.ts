// Issue 6, integrity under impairment: 1 %, 5 % and 20 % loss on both directions of the real
// packet path (stack → ptnet driver → inline host kloop → VALE → impairment → driver → stack),
// 32 MiB each way at once, on a virtual clock (test/support/impair-transfer.ts).
import { afterEach, describe, expect, it } from 'vitest';
import type { Unikernel } from '../../src/unikernel/index.ts';
import {
  IMPAIR_SEED,
  describeRun,
  expectIntact,
  expectSackRecovery,
  impairedTransfer,
} from '../support/impair-transfer.ts';

const booted: Unikernel[] = [];
afterEach(() => {
  for (const u of booted.splice(0)) u.shutdown();
});

describe(`loss through ptnet over VALE, offloads off, 32 MiB each way (seed ${IMPAIR_SEED})`, () => {
  it.each([0.01, 0.05, 0.2])('%s of the frames dropped on each port', async (drop) => {
    const seed = IMPAIR_SEED;
    const r = await impairedTransfer({ impair: { drop }, seed, mib: 32, offloads: [false, false] }, booted);
    console.log(describeRun(`${drop * 100} % loss`, seed, r));
    expectIntact(r, seed);
    expectSackRecovery(r);
    for (const u of [r.a, r.b]) {
      // The impairment dropped about the fraction asked for of what reached the port.
      const lost = u.port.datapath.drops().IMPAIRED;
      const fraction = lost / (lost + u.netif.counters.rxPackets);
      expect(fraction).toBeGreaterThan(drop / 2);
      expect(fraction).toBeLessThan(drop * 2);
    }
    const ta = r.a.stack.tcp.counters;
    const tb = r.b.stack.tcp.counters;
    // Below 10 % loss most repairs come from SACK recovery, not from the retransmission timer.
    if (drop < 0.1) expect(ta.fastRetrans + tb.fastRetrans).toBeGreaterThan(ta.timeouts + tb.timeouts);
  });
});
