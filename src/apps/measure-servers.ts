// The servers the end-to-end measures run against (bench/e2e-lib.ts), in the process's main thread
// or in a unikernel worker: a sink that only counts what it reads (TCP_STREAM) and a NODELAY echo
// (TCP_RR). The apps' discard also hashes and their echo pipes without NODELAY: neither is the
// stack's own cost.
import type { Net, Server } from '../stack/index.ts';

/**
 * A discard server that only counts, reading into one reused buffer (onread). `onBytes` sees
 * every read's length as well (a worker adds it to a shared counter its parent reads).
 */
export function countingSink(
  net: Net,
  port: number,
  onBytes?: (n: number) => void,
): { server: Server; bytes: () => number } {
  let bytes = 0;
  // Reads into one reused buffer (onread), as netperf's TCP_STREAM receiver recv()s into one: the
  // bytes land in it straight from the frame and the copies stay in the cache (a fresh Buffer per
  // 'data' chunk ran the inline stream at 11.5–12.2 against 17.9–18.6 Gbps, docs/ARCHITECTURE.md).
  const onread = {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback: (n: number): boolean => {
      bytes += n;
      onBytes?.(n);
      return true;
    },
  };
  const server = net.createServer({ onread }, (s) => s.on('error', () => {})).listen(port);
  return { server, bytes: () => bytes };
}

/** An echo server for TCP_RR with Nagle off: every read is written back at once. */
export function rrServer(net: Net, port: number): Server {
  return net
    .createServer((s) => {
      s.setNoDelay(true);
      s.on('error', () => {}).on('data', (d: Buffer) => s.write(d));
    })
    .listen(port);
}
