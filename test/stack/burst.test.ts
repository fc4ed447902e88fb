// What one NAPI turn transmits leaves as one burst: every answer goes to the interface with
// more = true and the turn ends with one flush(), so an interface like ptnet publishes and kicks
// once per turn instead of once per frame. Toward a peer that runs concurrently
// (NetIf.concurrentPeer) each received frame's answers are a burst of their own. Outside a turn
// (timers, the application) a frame is sent with more = false, so nothing waits for a flush that
// would never come.
import { describe, expect, it } from 'vitest';
import { Mempool, type Mbuf } from '../../src/mbuf/index.ts';
import {
  NO_OFFLOADS,
  type DeliverFn,
  type NetIf,
  type NetIfEvents,
  type TxResult,
} from '../../src/netif/index.ts';
import { Stack, VirtualClock } from '../../src/stack/index.ts';

const MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);
const PEER = new Uint8Array([2, 0, 0, 0, 0, 2]);

function arpRequest(from: number): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(PEER, 6);
  f.set([0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1], 12);
  f.set(PEER, 22);
  f.set([10, 0, 0, from], 28);
  f.set([10, 0, 0, 1], 38);
  return f;
}

/** An interface that hands out queued frames on poll and records transmit/flush calls in order. */
class RecordingNetIf implements NetIf {
  readonly name = 'rec0';
  readonly mac = MAC;
  readonly mtu = 1500;
  readonly offloads = NO_OFFLOADS;
  readonly log: string[] = [];
  readonly rx: Mbuf[] = [];
  events: NetIfEvents | null = null;
  constructor(readonly concurrentPeer = false) {}
  transmit(m: Mbuf, more = false): TxResult {
    this.log.push(more ? 'tx+more' : 'tx');
    m.free();
    return 'ok';
  }
  flush(): void {
    this.log.push('flush');
  }
  poll(budget: number, deliver: DeliverFn): number {
    let n = 0;
    while (n < budget && this.rx.length > 0) {
      deliver(this.rx.shift()!);
      n++;
    }
    return n;
  }
  setEvents(e: NetIfEvents | null): void {
    this.events = e;
  }
}

describe('transmit bursts per NAPI turn', () => {
  const pool = new Mempool({ segments: 64, segmentSize: 2048 });
  const frame = (b: Uint8Array): Mbuf => {
    const m = pool.alloc()!;
    m.append(b);
    return m;
  };

  it('ten ARP requests in one turn: ten replies with more = true, then one flush', () => {
    const nif = new RecordingNetIf();
    const stack = new Stack({ netif: nif, ipv4: '10.0.0.1/24', time: new VirtualClock(0) });
    for (let i = 0; i < 10; i++) nif.rx.push(frame(arpRequest(10 + i)));
    stack.poll();
    expect(stack.counters.arpRepliesOut).toBe(10);
    expect(nif.log).toEqual([...Array<string>(10).fill('tx+more'), 'flush']);
  });

  it('toward a concurrent peer: ten requests in one turn, each reply flushed after its frame', () => {
    const nif = new RecordingNetIf(true);
    const stack = new Stack({ netif: nif, ipv4: '10.0.0.1/24', time: new VirtualClock(0) });
    for (let i = 0; i < 10; i++) nif.rx.push(frame(arpRequest(10 + i)));
    stack.poll();
    expect(stack.counters.arpRepliesOut).toBe(10);
    // The turn's own flush still ends it (a no-op for an interface with nothing held).
    expect(nif.log).toEqual([...Array.from({ length: 10 }, () => ['tx+more', 'flush']).flat(), 'flush']);
  });

  it("follows the datapath the interface names: that device's concurrentPeer, then the interface's own again", () => {
    const nif = new RecordingNetIf(false);
    const stack = new Stack({ netif: nif, ipv4: '10.0.0.1/24', time: new VirtualClock(0) });
    const dev = new RecordingNetIf(true);
    nif.events!.datapath!(dev);
    for (let i = 0; i < 3; i++) dev.rx.push(frame(arpRequest(10 + i)));
    stack.poll();
    expect(dev.log).toEqual(['tx+more', 'flush', 'tx+more', 'flush', 'tx+more', 'flush', 'flush']);
    // The device is gone: the interface carries the frames again, one burst per turn.
    nif.events!.datapath!(null);
    for (let i = 0; i < 3; i++) nif.rx.push(frame(arpRequest(20 + i)));
    stack.poll();
    expect(nif.log).toEqual(['tx+more', 'tx+more', 'tx+more', 'flush']);
    expect(stack.counters.arpRepliesOut).toBe(6);
  });

  it('a frame sent outside a turn goes with more = false', () => {
    const nif = new RecordingNetIf();
    const stack = new Stack({ netif: nif, ipv4: '10.0.0.1/24', time: new VirtualClock(0) });
    stack.input(frame(arpRequest(10)));
    expect(nif.log).toEqual(['tx']);
  });
});
