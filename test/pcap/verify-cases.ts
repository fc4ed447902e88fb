// The frames `pcap verify` is tested on: known good, deliberately broken and partial checksums
// over every supported linktype, with the verdicts expected for each.
import { closeSync, openSync } from 'node:fs';
import { PcapngWriter } from '../../src/pcap/index.ts';
import { ICMP, ICMPV6, TCP, UDP, eth, ipv4, ipv6, with16 } from './frames.ts';
import { tmpPath } from './helpers.ts';

export type Case = [
  name: string,
  linktype: number,
  bytes: number[],
  comment: string | null,
  want: Record<string, string>,
];

export const tcp4 = ipv4(TCP, [1, 2, 3, 4, 5]);
export const partial = with16(tcp4.ip, tcp4.l4Field, tcp4.pseudo);
const vnet = 'vnet flags=0x01 gso_type=0 hdr_len=54 gso_size=0 csum_start=34 csum_offset=16';
const udp6 = ipv6(UDP, [9, 8, 7]);
const AF_INET_LE = [2, 0, 0, 0];
const AF_INET6_BE = [0, 0, 0, 30]; // Darwin's AF_INET6, network order (LOOP)
const sll = (type: number) => [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, type >>> 8, type & 0xff];
const sll2 = (type: number) => [
  type >>> 8,
  type & 0xff,
  0,
  0,
  0,
  0,
  0,
  3,
  0,
  1,
  0,
  6,
  2,
  0,
  0,
  0,
  0,
  1,
  0,
  0,
];

export const cases: Case[] = [
  ['tcp4 good', 1, [...eth(0x0800), ...tcp4.ip], null, { ipv4: 'good', tcp: 'good' }],
  [
    'tcp4 bad l4',
    1,
    [...eth(0x0800), ...with16(tcp4.ip, tcp4.l4Field, 0x1234)],
    null,
    { ipv4: 'good', tcp: 'bad' },
  ],
  ['ipv4 header bad', 1, [...eth(0x0800), ...with16(tcp4.ip, 10, 0)], null, { ipv4: 'bad', tcp: 'good' }],
  ['tcp4 partial', 1, [...eth(0x0800), ...partial], vnet, { ipv4: 'good', tcp: 'partial' }],
  ['partial without vnet', 1, [...eth(0x0800), ...partial], 'just a note', { ipv4: 'good', tcp: 'bad' }],
  [
    'partial, wrong csum_start',
    1,
    [...eth(0x0800), ...partial],
    vnet.replace('34', '30'),
    { ipv4: 'good', tcp: 'bad' },
  ],
  ['good tcp with vnet', 1, [...eth(0x0800), ...tcp4.ip], vnet, { ipv4: 'good', tcp: 'good' }],
  [
    'udp4 zero = none',
    1,
    [
      ...eth(0x0800),
      ...(() => {
        const u = ipv4(UDP, [1]);
        return with16(u.ip, u.l4Field, 0);
      })(),
    ],
    null,
    { ipv4: 'good' },
  ],
  ['udp4 good', 1, [...eth(0x0800), ...ipv4(UDP, [1, 2, 3]).ip], null, { ipv4: 'good', udp: 'good' }],
  ['udp6 good', 1, [...eth(0x86dd), ...udp6.ip], null, { udp: 'good' }],
  ['udp6 zero is bad', 1, [...eth(0x86dd), ...with16(udp6.ip, udp6.l4Field, 0)], null, { udp: 'bad' }],
  ['icmp good', 1, [...eth(0x0800), ...ipv4(ICMP, [0x61, 0x62]).ip], null, { ipv4: 'good', icmp: 'good' }],
  [
    'icmp bad',
    1,
    [...eth(0x0800), ...with16(ipv4(ICMP, [0x61]).ip, 22, 0)],
    null,
    { ipv4: 'good', icmp: 'bad' },
  ],
  ['icmpv6 good', 1, [...eth(0x86dd), ...ipv6(ICMPV6, [1, 2]).ip], null, { icmpv6: 'good' }],
  ['fragment: no l4 verdict', 1, [...eth(0x0800), ...ipv4(TCP, [1, 2], 0x2000).ip], null, { ipv4: 'good' }],
  ['arp: nothing', 1, [...eth(0x0806), 0, 1, 8, 0, 6, 4, 0, 1, ...new Array<number>(20).fill(0)], null, {}],
  ['raw', 101, ipv4(UDP, [5]).ip, null, { ipv4: 'good', udp: 'good' }],
  ['ipv4 linktype', 228, ipv4(TCP, [5]).ip, null, { ipv4: 'good', tcp: 'good' }],
  ['ipv6 linktype', 229, ipv6(TCP, [5]).ip, null, { tcp: 'good' }],
  ['sll', 113, [...sll(0x0800), ...ipv4(ICMP, [5]).ip], null, { ipv4: 'good', icmp: 'good' }],
  ['sll2', 276, [...sll2(0x86dd), ...ipv6(ICMPV6, [5]).ip], null, { icmpv6: 'good' }],
  ['null', 0, [...AF_INET_LE, ...ipv4(TCP, []).ip], null, { ipv4: 'good', tcp: 'good' }],
  ['loop', 108, [...AF_INET6_BE, ...with16(udp6.ip, udp6.l4Field, 1)], null, { udp: 'bad' }],
  ['snapped tcp', 1, [...eth(0x0800), ...tcp4.ip].slice(0, 40), null, { ipv4: 'good' }],
  ['unknown linktype', 147, [...eth(0x0800), ...tcp4.ip], null, {}],
];

/** Writes the cases (or a subset) as pcapng, one interface per linktype. */
export function writeCases(cs: Case[]): string {
  const path = tmpPath('pcapng');
  const fd = openSync(path, 'w');
  const w = new PcapngWriter(fd);
  const ids = new Map<number, number>();
  cs.forEach(([, lt, bytes, comment], i) => {
    if (!ids.has(lt)) ids.set(lt, w.addInterface({ linktype: lt }));
    // 'snapped tcp' keeps its original length: a capture cut short
    const orig = bytes.length === 40 ? 67 : bytes.length;
    w.write(ids.get(lt)!, Uint8Array.from(bytes), 1700000000 + i, i, orig, comment);
  });
  w.flush();
  closeSync(fd);
  return path;
}
