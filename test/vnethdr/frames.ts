// Test frames built byte by byte (independent of src/wire's emitters).

export interface FrameSpec {
  /** VLAN TCIs, outermost first (TPID 0x8100). */
  vlans?: number[];
  v6?: boolean;
  proto?: 'tcp' | 'udp' | 'icmp';
  payload?: number;
  /** TCP option bytes (multiple of 4). */
  tcpOpts?: number;
  /** IPv4 option bytes (multiple of 4, NOPs). */
  ipOpts?: number;
  /** Bytes of one IPv6 destination-options header (multiple of 8, >= 8). */
  v6Ext?: number;
  tcpFlags?: number;
  /** EtherType override (e.g. ARP) written after the tags. */
  etherType?: number;
}

export interface Frame {
  bytes: Uint8Array;
  l3: number;
  l4: number;
  /** End of the L4 header. */
  hdrEnd: number;
}

export function buildFrame(s: FrameSpec = {}): Frame {
  const vlans = s.vlans ?? [];
  const proto = s.proto ?? 'tcp';
  const payload = s.payload ?? 100;
  const l4h = proto === 'tcp' ? 20 + (s.tcpOpts ?? 0) : 8;
  const ipHdr = s.v6 ? 40 + (s.v6Ext ?? 0) : 20 + (s.ipOpts ?? 0);
  const l3 = 14 + 4 * vlans.length;
  const l4 = l3 + ipHdr;
  const total = l4 + l4h + payload;
  const b = new Uint8Array(total);
  for (let i = 0; i < 6; i++) {
    b[i] = 0x02;
    b[6 + i] = 0x04;
  }
  let t = 12;
  for (const tci of vlans) {
    b[t] = 0x81;
    b[t + 1] = 0x00;
    b[t + 2] = tci >> 8;
    b[t + 3] = tci & 0xff;
    t += 4;
  }
  const et = s.etherType ?? (s.v6 ? 0x86dd : 0x0800);
  b[t] = et >> 8;
  b[t + 1] = et & 0xff;
  const pnum = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : s.v6 ? 58 : 1;
  if (s.v6) {
    b[l3] = 0x60;
    const pl = total - l3 - 40;
    b[l3 + 4] = pl >> 8;
    b[l3 + 5] = pl & 0xff;
    b[l3 + 6] = s.v6Ext ? 60 : pnum;
    b[l3 + 7] = 64;
    b[l3 + 8] = 0xfd;
    b[l3 + 24] = 0xfd;
    b[l3 + 23] = 1;
    b[l3 + 39] = 2;
    if (s.v6Ext) {
      const e = l3 + 40;
      b[e] = pnum;
      b[e + 1] = s.v6Ext / 8 - 1;
      b[e + 2] = 1; // PadN covering the rest
      b[e + 3] = s.v6Ext - 4;
    }
  } else {
    b[l3] = 0x40 | ((20 + (s.ipOpts ?? 0)) / 4);
    const tl = total - l3;
    b[l3 + 2] = tl >> 8;
    b[l3 + 3] = tl & 0xff;
    b[l3 + 8] = 64;
    b[l3 + 9] = pnum;
    b.set([10, 0, 0, 1, 10, 0, 0, 2], l3 + 12);
    for (let i = 0; i < (s.ipOpts ?? 0); i++) b[l3 + 20 + i] = 1; // NOP
  }
  if (proto === 'tcp') {
    b[l4] = 0x30;
    b[l4 + 1] = 0x39;
    b[l4 + 3] = 80;
    b[l4 + 12] = (l4h / 4) << 4;
    b[l4 + 13] = s.tcpFlags ?? 0x18;
    for (let i = 20; i < l4h; i++) b[l4 + i] = 1; // NOP options
  } else if (proto === 'udp') {
    const ul = l4h + payload;
    b[l4 + 1] = 53;
    b[l4 + 3] = 53;
    b[l4 + 4] = ul >> 8;
    b[l4 + 5] = ul & 0xff;
  }
  for (let i = l4 + l4h; i < total; i++) b[i] = i & 0xff;
  return { bytes: b, l3, l4, hdrEnd: l4 + l4h };
}

export interface HdrSpec {
  flags?: number;
  gsoType?: number;
  hdrLen?: number;
  gsoSize?: number;
  csumStart?: number;
  csumOffset?: number;
}

/** A TAP write: a hdrSz-byte little-endian header followed by the frame. */
export function tapWrite(h: HdrSpec, frame: Uint8Array, hdrSz = 12): Uint8Array {
  const w = new Uint8Array(hdrSz + frame.length);
  w[0] = h.flags ?? 0;
  w[1] = h.gsoType ?? 0;
  const put = (o: number, v: number): void => {
    w[o] = v & 0xff;
    w[o + 1] = v >> 8;
  };
  put(2, h.hdrLen ?? 0);
  put(4, h.gsoSize ?? 0);
  put(6, h.csumStart ?? 0);
  put(8, h.csumOffset ?? 0);
  w.set(frame, hdrSz);
  return w;
}
