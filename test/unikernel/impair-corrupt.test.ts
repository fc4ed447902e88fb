// Issue 6, integrity under impairment: corruption on the real packet path on a virtual clock
// (test/support/impair-transfer.ts) — with software checksums, with a sender using checksum
// offload and TSO, and what offloads at both ends mean for it. 32 MiB each way unless said otherwise.
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

describe(`corruption through ptnet over VALE (seed ${seed})`, () => {
  it('1 % corruption, offloads off: every flipped bit caught by a checksum, then repaired', async () => {
    const r = await impairedTransfer(
      { impair: { corrupt: 0.01 }, seed, mib: 32, offloads: [false, false] },
      booted,
    );
    console.log(describeRun('1 % corruption, offloads off', seed, r));
    expectIntact(r, seed);
    expectCorruptionCaught(r);
    expectSackRecovery(r);
  });

  it('1 % corruption, a sends with checksum offload and TSO: the switch completes checksums before the damage', async () => {
    // b has no virtio-net header, so VALE segments a's TSO frames and fills in their checksums
    // (a NIC's job) and the bit flips happen after, as on a wire; b → a frames carry no
    // offload flags. Each receiver verifies in software.
    const r = await impairedTransfer(
      { impair: { corrupt: 0.01 }, seed, mib: 32, offloads: [true, false] },
      booted,
    );
    console.log(describeRun('1 % corruption, offloads a on / b off', seed, r));
    expect(r.a.offloads).toBe(true);
    expect(r.a.stack.tso).toBe(true);
    expect(r.b.offloads).toBe(false);
    expectIntact(r, seed);
    expectCorruptionCaught(r);
    expectSackRecovery(r);
  });

  it('1 % corruption, offloads on at both ends: undetectable, by the virtio contract (fixed seed 5)', async () => {
    // Between two ports with the 12-byte header the switch passes frames verbatim: they arrive
    // NEEDS_CSUM (CHECKSUM_PARTIAL) with only the pseudo-header sum in the checksum field, which
    // the receiver must trust (virtio_net_hdr_to_skb) — there is no checksum to check, so a bit
    // flipped on the way reaches the application. What a host that corrupts guest memory does
    // to Linux guests as well; the cases above put the damage after the checksum is complete.
    const r = await impairedTransfer(
      { impair: { corrupt: 0.01 }, seed: 5, mib: 32, offloads: [true, true] },
      booted,
    );
    console.log(describeRun('1 % corruption, offloads on', 5, r));
    expect(r.gotUp).not.toBe(r.sentUp);
    expect(r.gotDown).not.toBe(r.sentDown);
    for (const u of [r.a, r.b]) expect(u.stack.tcp.counters.csumErrors).toBe(0);
  });
});
