// Runs inside the oracle's network namespace (ip netns exec): writes each `vnet header + frame`
// given in a JSON file into the tap and reports what the kernel did with it: EINVAL from write(),
// or the change of the egress veth's TX counters (packets sent after software GSO, or dropped).
// Usage: tap-oracle-probe.ts TAP VETH HDR_SIZE INPUT.json
import { readFileSync } from 'node:fs';
import { LinuxTap, TapError } from '../../src/host/tap/index.ts';

const [tapName, veth, size, input] = process.argv.slice(2) as [string, string, string, string];
const writes = JSON.parse(readFileSync(input, 'utf8')) as string[];
const stat = (what: string): number =>
  Number(readFileSync(`/sys/class/net/${veth}/statistics/${what}`, 'utf8'));
const tap = LinuxTap.open(tapName, { vnetHdrLen: Number(size) as 10 | 12, offloads: 0 });

const out: { r: string; n: number }[] = [];
for (const hex of writes) {
  const w = Uint8Array.from(Buffer.from(hex, 'hex'));
  const sent0 = stat('tx_packets');
  const drop0 = stat('tx_dropped');
  try {
    tap.write(w, 0, w.length);
  } catch (e) {
    out.push({ r: e instanceof TapError && e.code === 'WRITE_REJECTED' ? 'einval' : String(e), n: 0 });
    continue;
  }
  // The frame crosses the backlog, tc mirred and the veth's software GSO asynchronously.
  const deadline = Date.now() + 1000;
  let r = 'timeout';
  let n = 0;
  while (Date.now() < deadline) {
    const sent = stat('tx_packets') - sent0;
    const drop = stat('tx_dropped') - drop0;
    if (drop > 0) {
      r = 'dropped';
      break;
    }
    if (sent > 0) {
      // segments of one super-frame are counted together, but give stragglers a moment
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      r = 'sent';
      n = stat('tx_packets') - sent0;
      break;
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  }
  out.push({ r, n });
}
tap.close();
console.log(JSON.stringify(out));
