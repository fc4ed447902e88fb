// Sequence numbers are held as signed int32 (src/stack/tcp/seq.ts): a number at or above 2^31 is
// negative inside the stack and unsigned on the wire, in snapshots and in logs. A flag the code
// once spelled as "-1 = none" (RescueRxt, the peer's FIN, the Eifel TSval) is then a valid number,
// and such a bug shows only on connections whose ISS falls on the wrong side. These runs pin the
// ISS of both ends where the transfer crosses 2^31 and 2^32 and recover from loss and reordering
// there: SACK recovery, rescue retransmissions, the FIN of each side.
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

const seed = IMPAIR_SEED;

describe(`sequence numbers across 2^31 and 2^32 under impairment (seed ${seed})`, () => {
  // 64 KiB below each boundary: the first MiB crosses it, with losses on both sides of it.
  // Offloads on in one run: TSO super-frames segmented and GRO-merged across the boundaries too.
  for (const [name, iss, offloads] of [
    ['a crosses 2^31, b wraps 2^32, offloads on', [0x7fff0000, 0xffff0000], [true, true]],
    ['a wraps 2^32, b crosses 2^31, offloads off', [0xffff0000, 0x7fff0000], [false, false]],
  ] as const) {
    it(`${name}: intact, SACK recovery at both ends`, async () => {
      const r = await impairedTransfer(
        { impair: { drop: 0.03, reorder: 0.02 }, seed, mib: 4, offloads, iss },
        booted,
      );
      console.log(describeRun(name, seed, r));
      expectIntact(r, seed);
      expectSackRecovery(r);
      // Both ends' one connection started at the pinned ISS.
      expect(r.issTaken).toBe(2);
    });
  }
});
