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
//   tso   — writes one TCPv4 TSO super-frame (4000 B, gso_size 1000) to `port`; the test captures
//           the kernel's segments.
// Prints `ready` when its rings are up, then one JSON line with what it saw and the counters.
// argv: scenario mode wake tap ourMac ourIp kernelIp port count
import { readFileSync } from 'node:fs';
import { SyncKloop, type KloopMode, openTapPort, type TapWake } from '../../src/host/index.ts';
import { GuestRing, makeCsb, ringsFromIf } from './guest.ts';

const [scenario, mode, wake, tapName, macS, ourIpS, kernelIpS, portS, countS] = process.argv.slice(2) as [
  string,
  KloopMode,
  TapWake,
  string,
  string,
  string,
  string,
  string,
  string,
];
const HDR = 12;
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

const port = openTapPort(tapName, { wake, mac });
const csb = makeCsb();
let wakeUp: (() => void) | null = null;
const kloop = new SyncKloop(port, csb, () => wakeUp?.(), mode);
kloop.start();
await kloop.ready();
const rings = ringsFromIf(port.region, port.nifpOffset);
const kick = (r: number): void => kloop.kick(r);
const tx = new GuestRing(port.region, rings.tx[0]!, csb, 0, true, kick);
const rx = new GuestRing(port.region, rings.rx[0]!, csb, port.numTxRings, false, kick);
tx.syncFromCsb();
rx.syncFromCsb();
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

function send(pkt: Uint8Array): void {
  for (let i = 0; i < 1000 && tx.space() < Math.ceil(pkt.length / tx.bufSize); i++) tx.txsync();
  tx.putChain(pkt);
  tx.txsync();
}

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
}

const deadline = Date.now() + 15_000;
const done = (): boolean =>
  scenario === 'echo'
    ? echo >= count
    : scenario === 'rx'
      ? udp.length >= count
      : scenario === 'tcp'
        ? tcpBytes >= count
        : tx.hwcur === tx.head;
while (!done() && Date.now() < deadline) {
  rx.rxsync();
  let got = false;
  for (let p = rx.take(); p !== null; p = rx.take()) {
    handle(p);
    got = true;
  }
  if (got) continue;
  tx.txsync();
  // Sleep until the kloop raises an RX interrupt (or 20 ms pass).
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 20);
    wakeUp = () => {
      clearTimeout(t);
      resolve();
    };
  });
  wakeUp = null;
}
// Everything queued must have left through the tap before the kloop stops (a worker lags behind).
while (tx.hwcur !== tx.head && Date.now() < deadline) {
  tx.txsync();
  await new Promise((r) => setTimeout(r, 2));
}
rx.rxsync();
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
  setHdr10: port.setVnetHdrLen(10),
  rescues: kloop.rescues,
});
kloop.stop();
port.close();
console.log(JSON.stringify(result));
