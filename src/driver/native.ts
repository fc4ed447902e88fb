// A netmap port for guest applications over an attached ptnet (netmap native mode): the rings in
// the memdev BAR, NIOCTXSYNC / NIOCRXSYNC, and a poll that sleeps on the ring's MSI-X interrupt,
// which txsync/rxsync arm only when the ring would block.

import { nmRingSpace, type NetmapRingView } from '../netmap/index.ts';
import type { PtnetAdapter } from './adapter.ts';
import { DriverError } from './errors.ts';
import type { GuestKring } from './kring.ts';

export class PtnetNetmapPort {
  /** Resolvers of pollers sleeping on ring i's interrupt. */
  private readonly sleepers: ((() => void) | null)[];

  constructor(readonly adapter: PtnetAdapter) {
    if (!adapter.isAttached) throw new DriverError('DETACHED', 'adapter is detached');
    adapter.claim('netmap');
    this.sleepers = new Array<(() => void) | null>(adapter.krings.length).fill(null);
    adapter.setInterruptCallback((ring) => this.wake(ring));
  }

  get numTxRings(): number {
    return this.adapter.numTxRings;
  }
  get numRxRings(): number {
    return this.adapter.numRxRings;
  }

  /** Kring of TX ring i. */
  txKring(i: number): GuestKring {
    return this.kring(i, 0, this.adapter.numTxRings);
  }
  /** Kring of RX ring i. */
  rxKring(i: number): GuestKring {
    return this.kring(i, this.adapter.numTxRings, this.adapter.numRxRings);
  }
  /** NETMAP_TXRING. */
  txRing(i: number): NetmapRingView {
    return this.txKring(i).ring;
  }
  /** NETMAP_RXRING. */
  rxRing(i: number): NetmapRingView {
    return this.rxKring(i).ring;
  }

  /** NIOCTXSYNC on TX ring i; false if the ring was reinitialised. */
  txsync(i: number): boolean {
    return this.adapter.txsync(this.txKring(i));
  }
  /** NIOCRXSYNC on RX ring i. */
  rxsync(i: number): boolean {
    return this.adapter.rxsync(this.rxKring(i));
  }

  /**
   * Slots the host has delivered on RX ring i that the application has not released: from the
   * ring's head to the host's hwtail in the CSB, read without a sync (0 if the host published an
   * index outside the ring). How far a receiver is behind its sender, for a sender that shares
   * its thread (runPktGen).
   */
  rxBacklog(i: number): number {
    const kr = this.rxKring(i);
    const t = kr.ktoa.hwtail;
    return t < kr.numSlots ? nmRingSpace(kr.ring.head, t, kr.numSlots) : 0;
  }

  /**
   * Slots given to the host on TX ring i that it has not taken yet: from the host's hwcur in the
   * CSB to the ring's head, read without a sync (the ring's tail is refreshed only when the ring
   * runs short of space; 0 if the host published an index outside the ring).
   */
  txPending(i: number): number {
    const kr = this.txKring(i);
    const c = kr.ktoa.hwcur;
    return c < kr.numSlots ? nmRingSpace(c, kr.ring.head, kr.numSlots) : 0;
  }

  /**
   * poll(POLLOUT) on TX ring i: true once the ring has a free slot (cur != tail); false if
   * `cancel()` holds after a wake-up (see wakeAll).
   */
  async pollTx(i: number, cancel?: () => boolean): Promise<boolean> {
    const kr = this.txKring(i);
    return this.poll(kr, () => this.adapter.txsync(kr), cancel);
  }

  /** poll(POLLIN) on RX ring i: true once the ring holds a received slot (cur != tail). */
  async pollRx(i: number, cancel?: () => boolean): Promise<boolean> {
    const kr = this.rxKring(i);
    return this.poll(kr, () => this.adapter.rxsync(kr), cancel);
  }

  /** Close the port: wake every poller and give the rings back (the interface mode may take them). */
  close(): void {
    this.wakeAll();
    this.adapter.release('netmap');
  }

  /** Wake every poller (e.g. before detaching). */
  wakeAll(): void {
    for (let r = 0; r < this.sleepers.length; r++) this.wake(r);
  }

  /** @mirrors netmap.c:netmap_poll */
  private async poll(
    kr: GuestKring,
    sync: () => void,
    cancel: (() => boolean) | undefined,
  ): Promise<boolean> {
    for (;;) {
      if (!this.adapter.isAttached) throw new DriverError('DETACHED', 'adapter detached while polling');
      // The sync arms the ring's interrupt only if the ring would block.
      sync();
      if (kr.ring.cur !== kr.ring.tail) return true;
      if (cancel?.()) {
        // Whatever made the caller give up may have produced work: look once more.
        sync();
        return kr.ring.cur !== kr.ring.tail;
      }
      await this.sleep(kr.id);
    }
  }

  private kring(i: number, base: number, n: number): GuestKring {
    if (i >>> 0 !== i || i >= n) throw new DriverError('BAD_RING', `no ring ${i}`, undefined, i);
    return this.adapter.krings[base + i]!;
  }

  private sleep(ring: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const prev = this.sleepers[ring];
      // Several pollers on one ring all wake together.
      this.sleepers[ring] = prev ? () => (prev(), resolve()) : resolve;
    });
  }

  private wake(ring: number): void {
    const s = this.sleepers[ring];
    if (s) {
      this.sleepers[ring] = null;
      s();
    }
  }
}
