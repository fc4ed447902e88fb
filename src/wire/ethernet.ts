// Ethernet II header with any number of stacked 802.1Q (0x8100) / 802.1ad (0x88a8) tags, walked
// like the kernel's __vlan_get_protocol(): the EtherType after the last tag is the payload's.
import { EtherType, ETH_HLEN, VLAN_HLEN } from './constants.ts';
import type { WireErrorCode } from './errors.ts';
import { WireError } from './errors.ts';
import { View, inRange, needRoom } from './view.ts';
import { get16, get48, set16, set48 } from './bytes.ts';

export function isVlanTpid(t: number): boolean {
  return t === EtherType.VLAN || t === EtherType.QINQ;
}

export class EthernetView extends View {
  /** Number of VLAN tags found by the last successful check(). */
  vlanCount = 0;

  check(): WireErrorCode | null {
    this.vlanCount = 0;
    if (!this.fits(ETH_HLEN)) return 'TRUNCATED';
    const { buf, off, len } = this;
    let n = 0;
    while (isVlanTpid(get16(buf, off + 12 + VLAN_HLEN * n))) {
      n++;
      if (ETH_HLEN + VLAN_HLEN * n > len) return this.fail('TRUNCATED', off + len);
    }
    this.vlanCount = n;
    return null;
  }

  /** Destination MAC as a 48-bit number. */
  get dst(): number {
    return get48(this.buf, this.off);
  }
  set dst(v: number) {
    set48(this.buf, this.off, v);
  }
  get src(): number {
    return get48(this.buf, this.off + 6);
  }
  set src(v: number) {
    set48(this.buf, this.off + 6, v);
  }
  /** The EtherType/TPID right after the addresses. */
  get outerType(): number {
    return get16(this.buf, this.off + 12);
  }
  /** The EtherType after the last VLAN tag. */
  get etherType(): number {
    return get16(this.buf, this.off + 12 + VLAN_HLEN * this.vlanCount);
  }
  set etherType(v: number) {
    set16(this.buf, this.off + 12 + VLAN_HLEN * this.vlanCount, v);
  }
  get headerLen(): number {
    return ETH_HLEN + VLAN_HLEN * this.vlanCount;
  }
  /** TPID of tag i (0 = outermost). */
  tpid(i: number): number {
    return get16(this.buf, this.off + 12 + VLAN_HLEN * i);
  }
  /** TCI (PCP:3 DEI:1 VID:12) of tag i. */
  tci(i: number): number {
    return get16(this.buf, this.off + 14 + VLAN_HLEN * i);
  }
  setTci(i: number, v: number): void {
    set16(this.buf, this.off + 14 + VLAN_HLEN * i, v);
  }
  get payloadOff(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
}

/**
 * __vlan_insert_tag(): open a tag after the MAC addresses of the frame starting at buf[off] by
 * moving the 12 address bytes 4 back into headroom. Returns the frame's new start (off - 4), or -1
 * without headroom.
 */
export function vlanPush(buf: Uint8Array, off: number, tci: number, tpid: number = EtherType.VLAN): number {
  if (off < VLAN_HLEN || off + 12 > buf.length) return -1;
  buf.copyWithin(off - VLAN_HLEN, off, off + 12);
  set16(buf, off + 8, tpid);
  set16(buf, off + 10, tci);
  return off - VLAN_HLEN;
}

/**
 * skb_vlan_pop(): remove the outermost tag of the frame buf[off, off+len) by moving the addresses
 * 4 forward; the frame then starts at off + 4. Returns the TCI, or -1 if untagged or too short.
 */
export function vlanPop(buf: Uint8Array, off: number, len: number): number {
  if (off < 0 || len < ETH_HLEN + VLAN_HLEN || off + len > buf.length || !isVlanTpid(get16(buf, off + 12)))
    return -1;
  const tci = get16(buf, off + 14);
  buf.copyWithin(off + VLAN_HLEN, off, off + 12);
  return tci;
}

export interface VlanTag {
  tpid: number;
  tci: number;
}

export interface EthernetRepr {
  dst: number;
  src: number;
  /** Outermost first. */
  vlans: VlanTag[];
  etherType: number;
}

export const EthernetRepr = {
  parse(v: EthernetView): EthernetRepr {
    v.checked();
    const vlans: VlanTag[] = [];
    for (let i = 0; i < v.vlanCount; i++) vlans.push({ tpid: v.tpid(i), tci: v.tci(i) });
    return { dst: v.dst, src: v.src, vlans, etherType: v.etherType };
  },
  bufferLen(r: EthernetRepr): number {
    return ETH_HLEN + VLAN_HLEN * r.vlans.length;
  },
  /** Write the header at buf[off]; returns its length. */
  emit(r: EthernetRepr, buf: Uint8Array, off: number): number {
    const n = EthernetRepr.bufferLen(r);
    needRoom(buf, off, n);
    inRange(r.dst, 0xffffffffffff, 'dst');
    inRange(r.src, 0xffffffffffff, 'src');
    inRange(r.etherType, 0xffff, 'etherType');
    if (isVlanTpid(r.etherType)) throw new WireError('BAD_REPR', off + n - 2, 'etherType is a VLAN TPID');
    set48(buf, off, r.dst);
    set48(buf, off + 6, r.src);
    let o = off + 12;
    for (const t of r.vlans) {
      if (!isVlanTpid(t.tpid)) throw new WireError('BAD_REPR', o, `not a VLAN TPID: ${t.tpid}`);
      inRange(t.tci, 0xffff, 'tci');
      set16(buf, o, t.tpid);
      set16(buf, o + 2, t.tci);
      o += VLAN_HLEN;
    }
    set16(buf, o, r.etherType);
    return n;
  },
};
