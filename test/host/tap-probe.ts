// Runs inside a test's network namespace (ip netns exec): opens the tap, checks that the kernel
// rejects a bad vnet header, then asks the kernel's ARP for its address and prints what came back.
import { LinuxTap, TapError } from '../../src/host/tap/index.ts';

const [name, ourMac, ourIp, kernelIp] = process.argv.slice(2) as [string, string, string, string];
const mac = ourMac.split(':').map((h) => parseInt(h, 16));
const ip = (s: string): number[] => s.split('.').map(Number);
const tap = LinuxTap.open(name, { vnetHdrLen: 12 });
const result: Record<string, unknown> = { vnetHdrLen: tap.vnetHdrLen };

// gso_type 2 (the withdrawn TCPV4_ECN) is refused by virtio_net_hdr_to_skb with EINVAL.
const bad = new Uint8Array(12 + 60);
bad[1] = 2;
try {
  tap.write(bad, 0, bad.length);
  result.badHeader = 'accepted';
} catch (e) {
  result.badHeader = e instanceof TapError ? e.code : String(e);
}

// ARP who-has kernelIp tell ourIp, behind an all-zero 12-byte vnet header.
const frame = new Uint8Array(12 + 42);
const f = frame.subarray(12);
f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...mac, 0x08, 0x06], 0);
f.set(
  [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, ...mac, ...ip(ourIp), 0, 0, 0, 0, 0, 0, ...ip(kernelIp)],
  14,
);

// Carrier comes on asynchronously (linkwatch, up to ~1 s after the fd attaches) and the kernel's
// qdisc drops the reply until then, so re-ask every 200 ms like an ARP client would.
const buf = new Uint8Array(65601);
const deadline = Date.now() + 5000;
let nextAsk = 0;
while (Date.now() < deadline && result.reply === undefined) {
  if (Date.now() >= nextAsk) {
    tap.write(frame, 0, frame.length);
    nextAsk = Date.now() + 200;
  }
  if (!tap.waitReadable(50)) continue;
  const n = tap.read(buf, 0, buf.length);
  if (n < 12 + 42) continue;
  const e = buf.subarray(12, n);
  if (e[12] === 0x08 && e[13] === 0x06 && e[21] === 2) {
    result.reply = {
      opcode: e[21],
      senderIp: Array.from(e.subarray(28, 32)).join('.'),
      targetMac: Array.from(e.subarray(32, 38), (b) => b.toString(16).padStart(2, '0')).join(':'),
      dstMac: Array.from(e.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':'),
    };
  }
}
result.readAfterDrain = tap.read(buf, 0, buf.length);
tap.close();
try {
  tap.read(buf, 0, buf.length);
} catch (e) {
  result.afterClose = e instanceof TapError ? e.code : String(e);
}
console.log(JSON.stringify(result));
