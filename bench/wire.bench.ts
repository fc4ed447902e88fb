// wire: frames per second through the allocation-free dissector and the per-layer views, and heap
// growth over many dissections (the hot path must allocate nothing per packet).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { rate, type BenchRow, type BenchSuite } from './harness.ts';
import {
  EthernetRepr,
  FrameInfo,
  Ipv4Repr,
  Ipv6Repr,
  TcpOptions,
  TcpRepr,
  TcpView,
  UdpRepr,
  dissectFrame,
  parseIpv4,
  parseIpv6,
} from '../src/wire/index.ts';

function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    return typeof f === 'function' ? (f as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Ethernet + 802.1Q + IPv4 + TCP (timestamps, SACK) + 1448 bytes. */
function tcp4Frame(): Uint8Array {
  const f = new Uint8Array(1518);
  const eth = {
    dst: 0x020000000002,
    src: 0x020000000001,
    vlans: [{ tpid: 0x8100, tci: 10 }],
    etherType: 0x0800,
  };
  const tcp = {
    srcPort: 40000,
    dstPort: 80,
    seq: 1,
    ack: 2,
    flags: 0x18,
    window: 500,
    urgent: 0,
    options: [
      { type: 'nop' as const },
      { type: 'nop' as const },
      { type: 'timestamp' as const, tsVal: 1, tsEcr: 2 },
      { type: 'nop' as const },
      { type: 'nop' as const },
      { type: 'sack' as const, blocks: [[10, 20] as [number, number]] },
    ],
    payloadLen: 1448 - 12,
  };
  const src = parseIpv4('10.0.0.1');
  const dst = parseIpv4('10.0.0.2');
  const th = TcpRepr.bufferLen(tcp);
  let o = EthernetRepr.emit(eth, f, 0);
  const ip = {
    src,
    dst,
    protocol: 6,
    ttl: 64,
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFrag: true,
    moreFrags: false,
    fragOffset: 0,
    payloadLen: th + tcp.payloadLen,
    options: new Uint8Array(0),
  };
  o += Ipv4Repr.emit(ip, f, o);
  TcpRepr.emit(tcp, f, o, src, dst);
  return f.subarray(0, o + th + tcp.payloadLen);
}

/** Ethernet + IPv6 + hop-by-hop + UDP + 64 bytes. */
function udp6Frame(): Uint8Array {
  const f = new Uint8Array(200);
  const src = parseIpv6('fd00::1');
  const dst = parseIpv6('fd00::2');
  let o = EthernetRepr.emit({ dst: 2, src: 1, vlans: [], etherType: 0x86dd }, f, 0);
  const opts = new Uint8Array(6);
  opts[0] = 1;
  opts[1] = 4;
  o += Ipv6Repr.emit(
    {
      src,
      dst,
      nextHeader: 17,
      hopLimit: 64,
      trafficClass: 0,
      flowLabel: 0,
      extHeaders: [{ type: 0, options: opts }],
      payloadLen: 72,
    },
    f,
    o,
  );
  o += UdpRepr.emit({ srcPort: 1, dstPort: 2, payloadLen: 64 }, f, o, src, dst);
  return f.subarray(0, o + 64);
}

export const wireSuite: BenchSuite = {
  name: 'wire',
  async run({ quick }): Promise<BenchRow[]> {
    const ms = quick ? 300 : 1500;
    const info = new FrameInfo();
    const t4 = tcp4Frame();
    const u6 = udp6Frame();
    const tv = new TcpView();
    const opts = new TcpOptions();
    const l4 = 14 + 4 + 20;
    const rows: BenchRow[] = [];
    const d4 = rate(() => dissectFrame(t4, 0, t4.length, info), ms);
    rows.push({ name: 'dissectFrame VLAN/IPv4/TCP', value: d4 / 1e6, unit: 'M frames/s' });
    const d6 = rate(() => dissectFrame(u6, 0, u6.length, info), ms);
    rows.push({ name: 'dissectFrame IPv6+HBH/UDP', value: d6 / 1e6, unit: 'M frames/s' });
    const tc = rate(() => {
      tv.reset(t4, l4, t4.length - l4).check();
      tv.parseOptions(opts);
    }, ms);
    rows.push({ name: 'TcpView check + parseOptions (TS, SACK)', value: tc / 1e6, unit: 'M segs/s' });

    const gc = findGc();
    const n = quick ? 1_000_000 : 10_000_000;
    const run = (k: number): void => {
      for (let i = 0; i < k; i++) {
        dissectFrame(t4, 0, t4.length, info);
        tv.reset(t4, l4, t4.length - l4).check();
        tv.parseOptions(opts);
      }
    };
    run(200_000);
    gc?.();
    const before = process.memoryUsage().heapUsed;
    run(n);
    gc?.();
    const grew = process.memoryUsage().heapUsed - before;
    rows.push({
      name: `heap growth over ${n / 1e6}M dissect+TCP options`,
      value: grew / 1024,
      unit: 'KiB',
      note: gc ? 'heap after full GC' : 'gc unavailable: includes garbage',
    });
    return rows;
  },
};
