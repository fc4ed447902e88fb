// ARP for the IPv4 layer (RFC 826; Linux arp_process / arp_send): answers requests for our
// address, defends it against RFC 5227 probes, learns from requests addressed to us, refreshes
// existing entries from gratuitous ARP (arp_accept = 0), and resolves next hops through the
// neighbour cache, queueing packets until the reply arrives.
import type { Mbuf } from '../../mbuf/index.ts';
import {
  ArpOp,
  ArpView,
  ARP_ETH_IPV4_LEN,
  EtherType,
  ETH_HLEN,
  get48,
  IN4_ANY,
  type In4,
} from '../../wire/index.ts';
import type { StackCounters } from '../counters.ts';
import type { LinkOutput } from '../link/link.ts';
import { mbufTruesize, NeighbourCache, type NeighbourParams } from '../neighbour.ts';
import type { TimerHost } from '../timer.ts';

export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export class Arp {
  /** The IPv4 neighbour cache (the kernel's arp_tbl). */
  readonly cache: NeighbourCache<In4, Mbuf>;
  private readonly view = new ArpView();
  private readonly out = new ArpView();
  private readonly sha = new Uint8Array(6);
  private readonly ourMac: number;

  constructor(
    private readonly link: LinkOutput,
    private readonly addr: In4,
    private readonly time: TimerHost,
    private readonly counters: StackCounters,
    params: Partial<NeighbourParams> | undefined,
  ) {
    this.ourMac = get48(link.mac, 0);
    this.cache = new NeighbourCache<In4, Mbuf>(
      time.timers,
      {
        solicit: (ip, ll) => this.send(ArpOp.REQUEST, ll ?? BROADCAST_MAC, ll, ip),
        flush: (_ip, m, ll) => link.xmit(m, ll, EtherType.IPV4),
        drop: (_ip, m) => {
          this.counters.ipOutDiscards++;
          m.free();
        },
        truesize: mbufTruesize,
      },
      params,
    );
  }

  /**
   * One ARP packet at buf[off, off+len) (arp_rcv → arp_process).
   * @mirrors arp.c:arp_process
   */
  input(buf: Uint8Array, off: number, len: number): void {
    const c = this.counters;
    const a = this.view.reset(buf, off, len);
    c.arpIn++;
    if (a.check() !== null || !a.isEthernetIpv4) {
      c.arpErrors++;
      return;
    }
    const op = a.op;
    const spa = a.senderIn4;
    const tpa = a.targetIn4;
    const sha = this.sha;
    sha.set(buf.subarray(off + 8, off + 14));
    // A sender hardware address that is multicast/broadcast is bogus (arp_process drops it).
    if ((sha[0]! & 1) !== 0 || (op !== ArpOp.REQUEST && op !== ArpOp.REPLY)) {
      c.arpErrors++;
      return;
    }
    const now = this.time.timers.now();
    if (tpa === this.addr && spa !== 0) {
      if (op === ArpOp.REQUEST) {
        this.cache.learned(spa, sha);
        this.send(ArpOp.REPLY, sha, sha, spa);
      } else {
        this.cache.advertisement(spa, sha, true, true, false, now);
      }
      return;
    }
    if (tpa === this.addr && spa === 0 && op === ArpOp.REQUEST) {
      // RFC 5227 probe for our address: defend it.
      this.send(ArpOp.REPLY, sha, sha, IN4_ANY);
      return;
    }
    // Gratuitous ARP or traffic for others: refresh an existing entry only (arp_accept = 0).
    if (spa !== 0 && this.cache.get(spa) !== undefined)
      this.cache.advertisement(spa, sha, false, true, false, now);
  }

  /** Sends an ARP packet to `ethDst` (arp_send); tha is the target hardware address (zeros when null). */
  private send(op: number, ethDst: Uint8Array, tha: Uint8Array | null, tpa: In4): void {
    const m = this.link.pool.alloc();
    if (m === null || !m.extend(ETH_HLEN + ARP_ETH_IPV4_LEN)) {
      m?.free();
      this.counters.txNoBuffers++;
      return;
    }
    const a = this.out.reset(this.link.pool.data, m.dataOffset + ETH_HLEN, ARP_ETH_IPV4_LEN);
    a.initEthernetIpv4();
    a.op = op;
    a.senderHw = this.ourMac;
    a.senderIp = this.addr;
    a.targetHw = tha === null ? 0 : get48(tha, 0);
    a.targetIp = tpa;
    if (op === ArpOp.REQUEST) this.counters.arpRequestsOut++;
    else this.counters.arpRepliesOut++;
    this.link.xmit(m, ethDst, EtherType.ARP);
  }

  /** Announces our address (gratuitous ARP request, RFC 5227 §3). */
  announce(): void {
    this.send(ArpOp.REQUEST, BROADCAST_MAC, null, this.addr);
  }
}
