// A netmap application on a TAP port, run inside a test's network namespace (ip netns exec): it
// drives the port only through its rings and the CSB (test/host/guest.ts), with the host kloop
// inline or in a worker. Scenarios:
//   echo  — answers ARP for its address and ICMP echo until `count` echo replies are sent;
//   rx    — records the UDP frames that reach `port` (the kernel's USO super-frames);
//   tx    — writes a header Linux refuses, then a USO super-frame (3 × 1000 B) to the kernel's
//           address and `port`, then a single-slot datagram; a kernel UDP socket checks them.
//   tcp   — answers a kernel TCP SYN to `port` with a SYN-ACK (MSS 1460, window 65535, no
//           options else) and records the data frames that follow (the kernel's TSO super-frames)
//           until `count` data bytes arrived;
//   tso   — writes a TCPv4 TSO super-frame (4000 B, gso_size 1000) and a TCPv6 one (3000 B,
//           gso_size 1200, FIN) to `port`; the test captures the kernel's segments.
// The guest is either a bare netmap application on the port's rings and CSB ('csb'), or a ptnet
// NIC in a machine model with the driver attached to it ('ptnet': src/device + src/driver).
// Prints `ready` when its rings are up, then one JSON line with what it saw and the counters.
// argv: scenario mode wake tap ourMac ourIp kernelIp port count [csb|ptnet]
import { readFileSync } from 'node:fs';
import { Machine } from '../../src/device/index.ts';
import { PtnetAdapter, PtnetNetmapPort } from '../../src/driver/index.ts';
import { SyncKloop, type KloopMode, type TapPort, openTapPort, type TapWake } from '../../src/host/index.ts';
import { NS_MOREFRAG } from '../../src/netmap/constants.ts';
import { guestRxRing, guestTxRing, makeCsb } from './guest.ts';

const [scenario, mode, wake, tapName, macS, ourIpS, kernelIpS, portS, countS, guestKind] = process.argv.slice(
  2,
) as [string, KloopMode, TapWake, string, string, string, string, string, string, string | undefined];
const mac = Uint8Array.from(macS.split(':'), (h) => parseInt(h, 16));
const ip4 = (s: string): Uint8Array => Uint8Array.from(s.split('.'), Number);
const ourIp = ip4(ourIpS);
const kernelIp = ip4(kernelIpS);
const udpPort = Number(portS);
const count = Number(countS);
const kernelMac = Uint8Array.from(
  readFileSync(`/sys/class/net/${tapName}/address`, 'utf8').trim().split(':'),
  (h) => parseInt(h, 16),
);

interface Packet {
  data: Uint8Array;
  flags: number[];
}

/** What the scenarios need from a guest: send a packet, take what arrived, wait a little. */
interface Guest {
  /** The vnet header length the guest works with. */
  readonly hdrLen: number;
  send(pkt: Uint8Array): void;
  /** Hands every complete received packet to `fn` and returns the slots; false if none. */
  receive(fn: (p: Packet) => void): boolean;
  /** True while sent packets are still in the TX ring. */
  txPending(): boolean;
  /** Sleeps until an RX interrupt or `ms`. */
  wait(ms: number): Promise<void>;
  kloop(): SyncKloop;
  stop(): void;
}

/** A netmap application on the port's rings, synchronising through a CSB (test/host/guest.ts). */
async function csbGuest(port: TapPort): Promise<Guest> {
  const csb = makeCsb();
  let wakeUp: (() => void) | null = null;
  const kloop = new SyncKloop(port, csb, () => wakeUp?.(), mode);
  kloop.start();
  await kloop.ready();
  const kick = (r: number): void => kloop.kick(r);
  const tx = guestTxRing(port, csb, kick);
  const rx = guestRxRing(port, csb, kick);
  tx.syncFromCsb();
  rx.syncFromCsb();
  return {
    hdrLen: port.vnetHdrLen,
    send(pkt) {
      for (let i = 0; i < 1000 && tx.space() < Math.ceil(pkt.length / tx.bufSize); i++) tx.txsync();
      tx.putChain(pkt);
      tx.txsync();
    },
    receive(fn) {
      rx.rxsync();
      let got = false;
      for (let p = rx.take(); p !== null; p = rx.take()) {
        fn(p);
        got = true;
      }
      if (got) rx.rxsync();
      return got;
    },
    txPending() {
      tx.txsync();
      return tx.hwcur !== tx.head;
    },
    wait: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        wakeUp = () => {
          clearTimeout(t);
          wakeUp = null;
          resolve();
        };
      }),
    kloop: () => kloop,
    stop: () => kloop.stop(),
  };
}

/** A ptnet NIC on the port in a machine model, driven by the driver's netmap mode. */
async function ptnetGuest(port: TapPort): Promise<Guest> {
  const m = new Machine({ size: 16 * 4096 });
  let kloop: SyncKloop | null = null;
  m.addPtnet(port, (p, csb, irq) => (kloop = new SyncKloop(p, csb, irq, mode)));
  const a = PtnetAdapter.attach(m);
  await kloop!.ready();
  const nm = new PtnetNetmapPort(a);
  const txr = nm.txRing(0);
  const rxr = nm.rxRing(0);
  const n = txr.numSlots;
  const bs = port.region.bufSize;
  return {
    hdrLen: a.vnetHdrLen,
    send(pkt) {
      const need = Math.ceil(pkt.length / bs);
      for (let i = 0; i < 1000 && (txr.tail - txr.head + n) % n < need; i++) nm.txsync(0);
      let h = txr.head;
      for (let off = 0; off < pkt.length; off += bs) {
        const c = Math.min(bs, pkt.length - off);
        txr.bytes.set(pkt.subarray(off, off + c), txr.slotBufOffset(h));
        txr.setSlotLen(h, c);
        txr.setSlotFlags(h, off + c < pkt.length ? NS_MOREFRAG : 0);
        h = (h + 1) % n;
      }
      txr.head = txr.cur = h;
      nm.txsync(0);
    },
    receive(fn) {
      nm.rxsync(0);
      const rn = rxr.numSlots;
      let i = rxr.head;
      let got = false;
      while (i !== rxr.tail) {
        // One packet: slots up to the first without NS_MOREFRAG (an unfinished chain waits).
        const parts: number[] = [];
        const flags: number[] = [];
        let j = i;
        let complete = false;
        while (j !== rxr.tail) {
          const f = rxr.slotFlags(j);
          const o = rxr.slotBufOffset(j);
          for (let k = 0; k < rxr.slotLen(j); k++) parts.push(rxr.bytes[o + k]!);
          flags.push(f);
          j = (j + 1) % rn;
          if ((f & NS_MOREFRAG) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete) break;
        fn({ data: Uint8Array.from(parts), flags });
        i = j;
        got = true;
      }
      rxr.head = rxr.cur = i;
      nm.rxsync(0);
      return got;
    },
    txPending() {
      nm.txsync(0);
      return txr.tail !== (txr.head + n - 1) % n;
    },
    async wait(ms) {
      // poll(POLLIN) on the ring, woken by the RX interrupt, or given up after `ms`.
      let late = false;
      const t = setTimeout(() => {
        late = true;
        nm.wakeAll();
      }, ms);
      await nm.pollRx(0, () => late);
      clearTimeout(t);
    },
    kloop: () => kloop!,
    stop() {
      nm.close();
      a.detach();
    },
  };
}

const port = openTapPort(tapName, { wake, mac });
const guest = guestKind === 'ptnet' ? await ptnetGuest(port) : await csbGuest(port);
const HDR = guest.hdrLen;
console.log('ready');

/** RFC 1071 sum of buf[off, off+len), folded, not inverted. */
function sum16(buf: Uint8Array, off: number, len: number, seed = 0): number {
  let s = seed;
  for (let i = 0; i + 1 < len; i += 2) s += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (len & 1) s += buf[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
};
const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

const send = (pkt: Uint8Array): void => guest.send(pkt);

/** vnet header (zero) + Ethernet + IPv4 (no options) + UDP with `payload`; header fields left to the caller. */
function udpFrame(
  payload: number,
  dst: Uint8Array,
  dstMac: Uint8Array,
  sport: number,
  dport: number,
): Uint8Array {
  const f = new Uint8Array(HDR + 14 + 20 + 8 + payload);
  const e = HDR;
  f.set(dstMac, e);
  f.set(mac, e + 6);
  put16(f, e + 12, 0x0800);
  const ip = e + 14;
  f[ip] = 0x45;
  put16(f, ip + 2, 20 + 8 + payload);
  put16(f, ip + 4, 0x1234);
  f[ip + 8] = 64;
  f[ip + 9] = 17;
  f.set(ourIp, ip + 12);
  f.set(dst, ip + 16);
  put16(f, ip + 10, ~sum16(f, ip, 20) & 0xffff);
  const u = ip + 20;
  put16(f, u, sport);
  put16(f, u + 2, dport);
  put16(f, u + 4, 8 + payload);
  for (let i = 0; i < payload; i++) f[u + 8 + i] = i % 251;
  return f;
}

const result: Record<string, unknown> = { scenario, mode, wake };
let arp = 0;
let echo = 0;
const udp: Record<string, unknown>[] = [];
const tcp: Record<string, unknown>[] = [];
let tcpBytes = 0;
let peerIsn = -1;

/** The vnet header fields of a received packet, as the test compares them. */
function vnetOf(p: { data: Uint8Array; flags: number[] }): Record<string, number> {
  const d = p.data;
  return {
    slots: p.flags.length,
    len: d.length,
    flags: d[0]!,
    gsoType: d[1]!,
    hdrLen: d[2]! | (d[3]! << 8),
    gsoSize: d[4]! | (d[5]! << 8),
    csumStart: d[6]! | (d[7]! << 8),
    csumOffset: d[8]! | (d[9]! << 8),
    numBuffers: d[10]! | (d[11]! << 8),
  };
}
const be32 = (b: Uint8Array, o: number): number => ((be16(b, o) << 16) | be16(b, o + 2)) >>> 0;

function handle(p: { data: Uint8Array; flags: number[] }): void {
  const d = p.data;
  if (d.length < HDR + 14) return;
  const e = HDR;
  const type = be16(d, e + 12);
  if (
    type === 0x0806 &&
    d.length >= e + 42 &&
    be16(d, e + 20) === 1 &&
    same(d.subarray(e + 38, e + 42), ourIp)
  ) {
    const r = new Uint8Array(HDR + 42);
    r.set(d.subarray(e + 6, e + 12), HDR); // to the asker
    r.set(mac, HDR + 6);
    r.set(d.subarray(e + 12, e + 20), HDR + 12); // ethertype, htype, ptype, hlen, plen
    put16(r, HDR + 20, 2);
    r.set(mac, HDR + 22);
    r.set(ourIp, HDR + 28);
    r.set(d.subarray(e + 22, e + 32), HDR + 32); // target = the asker's MAC and IP
    send(r);
    arp++;
    return;
  }
  if (type !== 0x0800 || d.length < e + 34) return;
  const ip = e + 14;
  const ihl = (d[ip]! & 0xf) * 4;
  const proto = d[ip + 9]!;
  if (!same(d.subarray(ip + 16, ip + 20), ourIp)) return;
  if (proto === 1 && d[ip + ihl] === 8) {
    const r = d.slice();
    r.fill(0, 0, HDR);
    r.set(d.subarray(e + 6, e + 12), e);
    r.set(mac, e + 6);
    r.set(d.subarray(ip + 16, ip + 20), ip + 12); // the IP checksum does not change on a swap
    r.set(d.subarray(ip + 12, ip + 16), ip + 16);
    const icmp = ip + ihl;
    const len = be16(d, ip + 2) - ihl;
    r[icmp] = 0;
    put16(r, icmp + 2, 0);
    put16(r, icmp + 2, ~sum16(r, icmp, len) & 0xffff);
    send(r);
    echo++;
    return;
  }
  if (proto === 17 && be16(d, ip + ihl + 2) === udpPort) {
    const u = ip + ihl;
    const payload = be16(d, u + 4) - 8;
    let ok = d.length === u + 8 + payload;
    for (let i = 0; ok && i < payload; i++) ok = d[u + 8 + i] === i % 251;
    udp.push({
      ...vnetOf(p),
      payload,
      payloadOk: ok,
      // NEEDS_CSUM: the field holds the pseudo-header sum the reader must complete.
      partialOk: be16(d, u + 6) === sum16(d, ip + 12, 8, 17 + payload + 8),
    });
    return;
  }
  if (proto === 6 && be16(d, ip + ihl + 2) === udpPort) {
    const t = ip + ihl;
    const doff = (d[t + 12]! >>> 4) * 4;
    const tflags = d[t + 13]!;
    if ((tflags & 0x02) !== 0) {
      peerIsn = be32(d, t + 4);
      // SYN-ACK: IPv4 + TCP with one MSS option, full checksums.
      const r = new Uint8Array(HDR + 14 + 20 + 24);
      r.set(d.subarray(e + 6, e + 12), HDR);
      r.set(mac, HDR + 6);
      put16(r, HDR + 12, 0x0800);
      const rip = HDR + 14;
      r[rip] = 0x45;
      put16(r, rip + 2, 44);
      put16(r, rip + 6, 0x4000);
      r[rip + 8] = 64;
      r[rip + 9] = 6;
      r.set(ourIp, rip + 12);
      r.set(d.subarray(ip + 12, ip + 16), rip + 16);
      put16(r, rip + 10, ~sum16(r, rip, 20) & 0xffff);
      const rt = rip + 20;
      put16(r, rt, udpPort);
      r.set(d.subarray(t, t + 2), rt + 2);
      r.set([0, 0, 0x10, 0], rt + 4);
      const ack = (peerIsn + 1) >>> 0;
      r.set([ack >>> 24, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff], rt + 8);
      r.set([0x60, 0x12, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 1460 >> 8, 1460 & 0xff], rt + 12);
      put16(r, rt + 16, ~sum16(r, rt, 24, sum16(r, rip + 12, 8, 6 + 24)) & 0xffff);
      send(r);
      return;
    }
    const payload = be16(d, ip + 2) - ihl - doff;
    if (payload <= 0 || peerIsn < 0) return;
    const off = (be32(d, t + 4) - peerIsn - 1) >>> 0;
    let ok = d.length === t + doff + payload;
    for (let i = 0; ok && i < payload; i++) ok = d[t + doff + i] === (off + i) % 251;
    tcp.push({
      ...vnetOf(p),
      payload,
      payloadOk: ok,
      partialOk: be16(d, t + 16) === sum16(d, ip + 12, 8, 6 + doff + payload),
    });
    tcpBytes += payload;
  }
}

if (scenario === 'tx') {
  // gso_type 2 (the withdrawn TCPV4_ECN): virtio_net_hdr_to_skb says EINVAL.
  const bad = udpFrame(100, kernelIp, kernelMac, 5555, udpPort);
  bad[1] = 2;
  send(bad);
  // USO: NEEDS_CSUM, gso UDP_L4, hdr_len 42, gso_size 1000, csum at 34 + 6 = the UDP checksum,
  // which holds the pseudo-header sum over the whole datagram length (__udp_gso_segment adjusts it).
  const uso = udpFrame(3000, kernelIp, kernelMac, 5555, udpPort);
  uso.set([1, 5, 42, 0, 1000 & 0xff, 1000 >> 8, 34, 0, 6, 0], 0);
  put16(uso, HDR + 40, sum16(uso, HDR + 26, 8, 17 + 3008));
  send(uso);
  const plain = udpFrame(500, kernelIp, kernelMac, 5555, udpPort);
  put16(plain, HDR + 40, ~sum16(plain, HDR + 34, 508, sum16(plain, HDR + 26, 8, 17 + 508)) & 0xffff);
  send(plain);
}

if (scenario === 'tso') {
  const pay = 4000;
  const f = new Uint8Array(HDR + 14 + 20 + 20 + pay);
  const e = HDR;
  f.set(kernelMac, e);
  f.set(mac, e + 6);
  put16(f, e + 12, 0x0800);
  const ip = e + 14;
  f[ip] = 0x45;
  put16(f, ip + 2, 40 + pay);
  put16(f, ip + 4, 0x0100);
  put16(f, ip + 6, 0x4000); // DF
  f[ip + 8] = 64;
  f[ip + 9] = 6;
  f.set(ourIp, ip + 12);
  f.set(kernelIp, ip + 16);
  put16(f, ip + 10, ~sum16(f, ip, 20) & 0xffff);
  const t = ip + 20;
  put16(f, t, 40000);
  put16(f, t + 2, udpPort);
  f.set([0, 0, 0x10, 0, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff], t + 4); // seq 0x1000, ack 1, PSH|ACK
  for (let i = 0; i < pay; i++) f[t + 20 + i] = i % 251;
  // NEEDS_CSUM, TCPV4, hdr_len 54, gso_size 1000, csum at 34 + 16; the field holds the
  // pseudo-header sum over the whole segment, as tcp_gso_segment expects.
  f.set([1, 1, 54, 0, 1000 & 0xff, 1000 >> 8, 34, 0, 16, 0], 0);
  put16(f, t + 16, sum16(f, ip + 12, 8, 6 + 20 + pay));
  send(f);

  // TCPv6 fd00::2 → fd00::1, 3000 B, gso_size 1200: NEEDS_CSUM, TCPV6, hdr_len 74, csum at 54 + 16.
  const pay6 = 3000;
  const g = new Uint8Array(HDR + 14 + 40 + 20 + pay6);
  g.set(kernelMac, e);
  g.set(mac, e + 6);
  put16(g, e + 12, 0x86dd);
  const ip6 = e + 14;
  g[ip6] = 0x60;
  put16(g, ip6 + 4, 20 + pay6);
  g[ip6 + 6] = 6;
  g[ip6 + 7] = 64;
  g.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], ip6 + 8);
  g.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], ip6 + 24);
  const t6 = ip6 + 40;
  put16(g, t6, 40001);
  put16(g, t6 + 2, udpPort);
  g.set([0, 0, 0x20, 0, 0, 0, 0, 1, 0x50, 0x19, 0xff, 0xff], t6 + 4); // seq 0x2000, FIN|PSH|ACK
  for (let i = 0; i < pay6; i++) g[t6 + 20 + i] = i % 251;
  g.set([1, 4, 74, 0, 1200 & 0xff, 1200 >> 8, 54, 0, 16, 0], 0);
  put16(g, t6 + 16, sum16(g, ip6 + 8, 32, 6 + 20 + pay6));
  send(g);
}

const deadline = Date.now() + 15_000;
const done = (): boolean =>
  scenario === 'echo'
    ? echo >= count
    : scenario === 'rx'
      ? udp.length >= count
      : scenario === 'tcp'
        ? tcpBytes >= count
        : !guest.txPending();
while (!done() && Date.now() < deadline) {
  if (guest.receive(handle)) continue;
  await guest.wait(scenario === 'tx' || scenario === 'tso' ? 2 : 20);
}
// Everything queued must have left through the tap before the kloop stops (a worker lags behind).
while (guest.txPending() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
Object.assign(result, {
  arp,
  echo,
  udp,
  tcp,
  txPackets: port.datapath.packets('tx'),
  rxPackets: port.datapath.packets('rx'),
  drops: port.datapath.drops(),
  stats: port.tapStats(),
  hdrLen: port.vnetHdrLen,
  guestHdrLen: guest.hdrLen,
  setHdr10: port.setVnetHdrLen(10),
  rescues: guest.kloop().rescues,
});
guest.stop();
port.close();
console.log(JSON.stringify(result));
