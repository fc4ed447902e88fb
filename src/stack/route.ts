// Routing tables, one per family (the FIB's role, fib_table_lookup / fib6_lookup for a host): connected
// prefixes from the configured addresses plus a default route, longest-prefix match, and the next hop
// the neighbour resolution uses (the destination itself when on-link, else the gateway).
import { in4Mask, type In4 } from '../wire/index.ts';
import { StackError } from './errors.ts';

export interface Route4 {
  prefix: In4;
  len: number;
  /** Gateway address, or null for a connected (on-link) route. */
  gateway: In4 | null;
}

export interface Route6 {
  readonly prefix: Uint8Array;
  len: number;
  /** Gateway address (link-local as a rule), or null for a connected route. */
  readonly gateway: Uint8Array | null;
}

/** True when a and b agree on their first `len` bits (16-byte addresses at offsets). */
export function prefixMatch6(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  let i = 0;
  for (; len >= 8; len -= 8, i++) if (a[aOff + i] !== b[bOff + i]) return false;
  if (len === 0) return true;
  const m = (0xff00 >> len) & 0xff;
  return ((a[aOff + i]! ^ b[bOff + i]!) & m) === 0;
}

export class RouteTable4 {
  /** Kept sorted by prefix length, longest first, so the first match wins. */
  readonly routes: Route4[] = [];
  /** Bumped by every change: a route cached from an older generation is stale (rt_genid). */
  gen = 0;

  add(prefix: In4, len: number, gateway: In4 | null = null): void {
    if (!Number.isInteger(len) || len < 0 || len > 32)
      throw new StackError('STACK_ARG', `bad prefix length ${len}`);
    const r: Route4 = { prefix: (prefix & in4Mask(len)) as In4, len, gateway };
    this.remove(r.prefix, len);
    let i = 0;
    while (i < this.routes.length && this.routes[i]!.len >= len) i++;
    this.routes.splice(i, 0, r);
    this.gen++;
  }

  remove(prefix: In4, len: number): boolean {
    const p = prefix & in4Mask(len);
    const i = this.routes.findIndex((r) => r.len === len && r.prefix === p);
    if (i < 0) return false;
    this.routes.splice(i, 1);
    this.gen++;
    return true;
  }

  lookup(dst: In4): Route4 | undefined {
    for (let i = 0; i < this.routes.length; i++) {
      const r = this.routes[i]!;
      if ((dst & in4Mask(r.len)) === r.prefix) return r;
    }
    return undefined;
  }

  /** The neighbour to send to for dst, or null when no route matches. */
  nextHop(dst: In4): In4 | null {
    const r = this.lookup(dst);
    if (r === undefined) return null;
    return r.gateway ?? dst;
  }
}

export class RouteTable6 {
  readonly routes: Route6[] = [];
  /** Bumped by every change, as RouteTable4.gen. */
  gen = 0;

  add(prefix: Uint8Array, len: number, gateway: Uint8Array | null = null): void {
    if (!Number.isInteger(len) || len < 0 || len > 128 || prefix.length !== 16) {
      throw new StackError('STACK_ARG', `bad IPv6 prefix /${len}`);
    }
    const p = new Uint8Array(16);
    for (let i = 0, l = len; i < 16 && l > 0; i++, l -= 8)
      p[i] = prefix[i]! & (l >= 8 ? 0xff : (0xff00 >> l) & 0xff);
    this.remove(p, len);
    let i = 0;
    while (i < this.routes.length && this.routes[i]!.len >= len) i++;
    this.routes.splice(i, 0, { prefix: p, len, gateway: gateway === null ? null : gateway.slice() });
    this.gen++;
  }

  remove(prefix: Uint8Array, len: number): boolean {
    const i = this.routes.findIndex((r) => r.len === len && prefixMatch6(r.prefix, 0, prefix, 0, len));
    if (i < 0) return false;
    this.routes.splice(i, 1);
    this.gen++;
    return true;
  }

  lookup(dst: Uint8Array, dstOff = 0): Route6 | undefined {
    for (let i = 0; i < this.routes.length; i++) {
      const r = this.routes[i]!;
      if (prefixMatch6(r.prefix, 0, dst, dstOff, r.len)) return r;
    }
    return undefined;
  }

  /** Writes the next hop for dst into out; false when no route matches. */
  nextHop(dst: Uint8Array, dstOff: number, out: Uint8Array): boolean {
    const r = this.lookup(dst, dstOff);
    if (r === undefined) return false;
    // On-link: the destination itself, copied without a view of it (a frame's path while its
    // neighbour entry is not REACHABLE).
    if (r.gateway === null) for (let i = 0; i < 16; i++) out[i] = dst[dstOff + i]!;
    else out.set(r.gateway);
    return true;
  }
}
