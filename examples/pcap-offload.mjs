// Checking offloaded frames from code: writes a pcapng holding one TCP/IPv4 super-frame as a guest
// hands it to a virtio-net device (6000 bytes of payload in one frame, the TCP checksum left
// partial, its virtio_net_hdr in the packet comment), reads the file back, segments the frame
// exactly as Linux would (ptnet-ts/tso) and verifies every segment's IPv4 and TCP checksums
// (ptnet-ts/checksum). Prints one JSON line.
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csumPartial, csumValid, ipv4HeaderValid, pseudoV4 } from 'ptnet-ts/checksum';
import { PcapngWriter, formatVnetComment, openCapture, parseVnetComment } from 'ptnet-ts/pcap';
import { SegmentList, gsoSegment } from 'ptnet-ts/tso';
import { VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 } from 'ptnet-ts/vnethdr';

const SRC = 0x0a000001; // 10.0.0.1
const DST = 0x0a000002; // 10.0.0.2
const PAYLOAD = 6000;
const MSS = 1448;

/** Ethernet + IPv4 + TCP (20-byte headers) + payload; the TCP checksum field holds the pseudo-header sum. */
function superFrame() {
  const l4len = 20 + PAYLOAD;
  const f = new Uint8Array(14 + 20 + l4len);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]); // dst MAC, src MAC, IPv4
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + l4len);
  v.setUint16(18, 0x1234); // identification
  v.setUint16(20, 0x4000); // DF
  v.setUint8(22, 64);
  v.setUint8(23, 6);
  v.setUint32(26, SRC);
  v.setUint32(30, DST);
  v.setUint16(24, ~csumPartial(f, 14, 20) & 0xffff);
  v.setUint16(34, 40000); // source port
  v.setUint16(36, 80);
  v.setUint32(38, 1_000_000); // sequence number
  v.setUint32(42, 1); // acknowledgment
  v.setUint16(46, 0x5018); // data offset 5, PSH|ACK
  v.setUint16(48, 0xffff); // window
  v.setUint16(50, pseudoV4(SRC, DST, 6, l4len)); // CHECKSUM_PARTIAL: the device completes it
  for (let i = 0; i < PAYLOAD; i++) f[54 + i] = i & 0xff;
  return f;
}

const dir = mkdtempSync(join(tmpdir(), 'ptnet-example-'));
const file = join(dir, 'offload.pcapng');
const fd = openSync(file, 'w');
const w = new PcapngWriter(fd);
const iface = w.addInterface();
const vnet = {
  flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
  gsoType: VIRTIO_NET_HDR_GSO_TCPV4,
  hdrLen: 54,
  gsoSize: MSS,
  csumStart: 34,
  csumOffset: 16,
};
w.write(iface, superFrame(), 1_700_000_000, 0, undefined, formatVnetComment(vnet));
w.flush();
closeSync(fd);

const result = { frames: 0, segments: 0, payload: 0, ipv4Good: 0, tcpGood: 0, comment: '' };
const reader = openCapture(file);
const segs = new SegmentList();
for (let p = reader.read(); p !== null; p = reader.read()) {
  result.frames++;
  result.comment = p.comment ?? '';
  const h = p.comment === null ? null : parseVnetComment(p.comment);
  if (h === null) continue;
  gsoSegment(h, p.data, segs);
  for (let i = 0; i < segs.count; i++) {
    const s = segs.data.subarray(segs.start(i), segs.end(i));
    const l4len = s.length - 34;
    result.segments++;
    result.payload += l4len - 20;
    if (ipv4HeaderValid(s, 14)) result.ipv4Good++;
    if (csumValid(s, 34, l4len, pseudoV4(SRC, DST, 6, l4len))) result.tcpGood++;
  }
}
reader.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(result)}\n`);
