// Frames assembled byte by byte for the tests; checksums were computed by hand with refCsum() and
// pinned here as constants, so a broken emitter cannot agree with itself.
import { hex } from './util.ts';

/** QinQ-tagged (88a8/100, 8100/200) IPv4 TCP SYN 10.0.0.1:40000 → 10.0.0.2:80, Linux option order. */
export const SYN_QINQ = hex(
  `
  020000000002 020000000001
  88a8 0064  8100 00c8  0800
  4500 003c 1234 4000 4006 TCSUM 0a00 0001 0a00 0002
  9c40 0050 00000001 00000000 a002 faf0 TCPSUM 0000
  020405b4 0402 080a 0000007b 00000000 01 030307
`
    .replace('TCSUM', '1486')
    .replace('TCPSUM', '9c00'),
);

/** IPv6 UDP 2001:db8::1:1234 → 2001:db8::2:53 behind hop-by-hop (PadN) and destination options. */
export const UDP6_EXT = hex(
  `
  333300000001 020000000001 86dd
  6000 0000 001c 00 40
  20010db8000000000000000000000001
  20010db8000000000000000000000002
  3c 00 0104 00000000
  11 00 0104 00000000
  04d2 0035 000c UDPSUM 61626364
`.replace('UDPSUM', 'da93'),
);
