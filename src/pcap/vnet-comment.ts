// The fixture convention for virtio-net headers: no linktype carries one, so an Ethernet
// super-frame's header rides in its pcapng packet comment, e.g.
// `vnet flags=0x01 gso_type=0x81 hdr_len=66 gso_size=1448 csum_start=34 csum_offset=16`.
// Values are decimal or 0x-hex, keys in any order, a missing key is 0.
import { PcapError } from './errors.ts';

/** The fields of struct virtio_net_hdr (without num_buffers). */
export interface VnetComment {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

const KEYS: Record<string, [keyof VnetComment, number]> = {
  flags: ['flags', 0xff],
  gso_type: ['gsoType', 0xff],
  hdr_len: ['hdrLen', 0xffff],
  gso_size: ['gsoSize', 0xffff],
  csum_start: ['csumStart', 0xffff],
  csum_offset: ['csumOffset', 0xffff],
};

const VALUE = /^(?:[0-9]{1,10}|0[xX][0-9a-fA-F]{1,8})$/;

/**
 * Parses a packet comment. Returns null when it is not a vnet comment (it does not start with the
 * word `vnet`); throws PcapError BAD_VNET_COMMENT (offset = character index) when it is one but an
 * item is not `key=value` with a known key, a value in range, and no key twice.
 */
export function parseVnetComment(s: string): VnetComment | null {
  if (!/^vnet(?:\s|$)/.test(s)) return null;
  const h: VnetComment = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  const seen = new Set<string>();
  const item = /\S+/g;
  item.lastIndex = 4;
  for (let m = item.exec(s); m !== null; m = item.exec(s)) {
    const [key, value, extra] = m[0].split('=');
    const k = key === undefined ? undefined : KEYS[key];
    if (k === undefined || value === undefined || extra !== undefined) {
      throw new PcapError('BAD_VNET_COMMENT', m.index, `bad vnet item '${m[0]}'`);
    }
    if (!VALUE.test(value)) throw new PcapError('BAD_VNET_COMMENT', m.index, `bad value in '${m[0]}'`);
    const n = Number(value);
    if (n > k[1]) throw new PcapError('BAD_VNET_COMMENT', m.index, `value out of range in '${m[0]}'`);
    if (seen.has(key!)) throw new PcapError('BAD_VNET_COMMENT', m.index, `duplicate key '${key}'`);
    seen.add(key!);
    h[k[0]] = n;
  }
  return h;
}

function hex2(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** The comment for a header: flags and gso_type in hex, the lengths in decimal. */
export function formatVnetComment(h: VnetComment): string {
  for (const [name, [field, max]] of Object.entries(KEYS)) {
    const n = h[field];
    if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`vnet ${name} ${n} out of range`);
  }
  return (
    `vnet flags=${hex2(h.flags)} gso_type=${hex2(h.gsoType)} hdr_len=${h.hdrLen} ` +
    `gso_size=${h.gsoSize} csum_start=${h.csumStart} csum_offset=${h.csumOffset}`
  );
}
