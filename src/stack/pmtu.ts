// Path MTU per destination, fed by ICMPv4 "fragmentation needed" (RFC 1191) and ICMPv6 "packet too
// big" (RFC 8201), as Linux keeps it in route exceptions (__ip_rt_update_pmtu / rt6_do_update_pmtu):
// only decreases are taken from the network, IPv4 values are floored at ip_rt_min_pmtu (552),
// IPv6 values below 1280 are refused, and an entry expires after ip_rt_mtu_expires (10 min), when
// the path is probed at the link MTU again.

/** RFC 791 minimum an IPv4 link must carry; reports below it are bogus. */
export const IPV4_MIN_MTU = 68;
/** Linux ip_rt_min_pmtu: 512 + 20 + 20. */
export const IPV4_PMTU_FLOOR = 552;
/** RFC 8200 §5 minimum link MTU. */
export const IPV6_MIN_MTU = 1280;
/** Linux ip_rt_mtu_expires / ip6_rt_mtu_expires: 10 minutes. */
export const PMTU_EXPIRES_MS = 600_000;

export interface PmtuCounters {
  /** Reports that lowered a path MTU. */
  updates: number;
  /** Reports below the family's minimum (IPv6) or below 68 (IPv4). */
  belowMinimum: number;
  /** Reports not lower than what is already known. */
  notLower: number;
}

interface Entry {
  mtu: number;
  expires: number;
}

/** Path MTU per destination key (an IPv4 u32 or a hex string of an IPv6 address). */
export class PmtuCache<K> {
  private readonly entries = new Map<K, Entry>();
  readonly counters: PmtuCounters = { updates: 0, belowMinimum: 0, notLower: 0 };

  constructor(
    /** The link MTU (what a path starts with). */
    readonly linkMtu: number,
    private readonly v6: boolean,
    private readonly maxEntries = 4096,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The MTU to use towards dst now. */
  get(dst: K, now: number): number {
    const e = this.entries.get(dst);
    if (e === undefined) return this.linkMtu;
    if (now >= e.expires) {
      this.entries.delete(dst);
      return this.linkMtu;
    }
    return e.mtu;
  }

  /** A reported next-hop MTU for dst; returns the MTU now in force or -1 when the report was ignored. */
  update(dst: K, reported: number, now: number): number {
    const c = this.counters;
    let mtu = reported;
    if (this.v6) {
      if (mtu < IPV6_MIN_MTU) {
        c.belowMinimum++;
        return -1;
      }
    } else {
      if (mtu < IPV4_MIN_MTU) {
        c.belowMinimum++;
        return -1;
      }
      if (mtu < IPV4_PMTU_FLOOR) mtu = IPV4_PMTU_FLOOR;
    }
    const cur = this.get(dst, now);
    if (mtu >= cur) {
      c.notLower++;
      return -1;
    }
    if (!this.entries.has(dst) && this.entries.size >= this.maxEntries) {
      // Full: forget the oldest report (Map keeps insertion order).
      const first = this.entries.keys().next();
      if (!first.done) this.entries.delete(first.value);
    }
    this.entries.set(dst, { mtu, expires: now + PMTU_EXPIRES_MS });
    c.updates++;
    return mtu;
  }
}
