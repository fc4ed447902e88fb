// Runs inside probeTapKernel()'s namespace: writes each hex-encoded `virtio_net_hdr + frame` into
// the TAP and prints, as JSON, 'ok' or why write() failed ('EINVAL' for a header Linux refuses).
// Usage: tap-kernel-writes.ts TAP '["hex", …]'
import { LinuxTap, TapError } from '../../src/host/tap/index.ts';

const [tapName, json] = process.argv.slice(2) as [string, string];
const tap = LinuxTap.open(tapName, { vnetHdrLen: 12, offloads: 0 });
const out: string[] = [];
for (const hex of JSON.parse(json) as string[]) {
  const w = Uint8Array.from(Buffer.from(hex, 'hex'));
  try {
    out.push(tap.write(w, 0, w.length) ? 'ok' : 'EAGAIN');
  } catch (e) {
    out.push(e instanceof TapError && e.code === 'WRITE_REJECTED' ? 'EINVAL' : String(e));
  }
}
tap.close();
console.log(JSON.stringify(out));
