// Opening a Linux TAP with IFF_VNET_HDR from Node through koffi (libc open/ioctl/setns), as in the
// oracle recipe: the fd's network namespace is fixed at open() time, so callers either run inside
// the namespace (`ip netns exec`) or pass `netns` to switch this thread into it first.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// koffi is CommonJS; its typings are loose enough that we keep the bound functions typed here.
const koffi = require('koffi') as {
  load(lib: string): { func(...args: unknown[]): (...a: unknown[]) => number };
  errno(): number;
};

const libc = koffi.load('libc.so.6');
const cOpen = libc.func('int open(const char *path, int flags)') as (p: string, f: number) => number;
const cClose = libc.func('int close(int fd)') as (fd: number) => number;
const ioctlP = libc.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as (
  fd: number,
  req: number,
  arg: Buffer,
) => number;
const ioctlV = libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as (
  fd: number,
  req: number,
  arg: number,
) => number;
const cSetns = libc.func('int setns(int fd, int nstype)') as (fd: number, t: number) => number;

// include/uapi/linux/if_tun.h (x86-64 values).
const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUNSETVNETHDRSZ = 0x400454d8;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;

/** TUNSETOFFLOAD bits (if_tun.h; USO4/USO6 are newer than Debian 12's header). */
export const TUN_F = { CSUM: 0x01, TSO4: 0x02, TSO6: 0x04, TSO_ECN: 0x08, UFO: 0x10, USO4: 0x20, USO6: 0x40 };

export class TapError extends Error {
  override readonly name = 'TapError';
  constructor(
    readonly code: 'TAP_OPEN' | 'TAP_IOCTL' | 'TAP_SETNS',
    message: string,
    readonly errno: number,
  ) {
    super(message);
  }
}

/** Moves the calling thread into the named netns (/run/netns/NAME), like `ip netns exec`. */
export function enterNetns(name: string): void {
  const fd = cOpen(`/run/netns/${name}`, 0 | O_CLOEXEC);
  if (fd < 0) throw new TapError('TAP_SETNS', `open netns ${name}`, koffi.errno());
  const r = cSetns(fd, CLONE_NEWNET);
  const err = koffi.errno();
  cClose(fd);
  if (r < 0) throw new TapError('TAP_SETNS', `setns ${name}`, err);
}

/**
 * Attaches to (or creates) TAP `name` with a `vnetHdrSz`-byte virtio-net header and returns the fd;
 * plain fs.writeSync/readSync work on it (one frame per call).
 */
export function openTap(name: string, vnetHdrSz = 12, offload = 0): number {
  const fd = cOpen('/dev/net/tun', O_RDWR | O_CLOEXEC);
  if (fd < 0) throw new TapError('TAP_OPEN', 'open /dev/net/tun', koffi.errno());
  const ifr = Buffer.alloc(40);
  ifr.write(name, 0, 'latin1');
  ifr.writeUInt16LE(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, 16);
  const fail = (what: string): never => {
    const e = koffi.errno();
    cClose(fd);
    throw new TapError('TAP_IOCTL', `${what} on ${name}`, e);
  };
  if (ioctlP(fd, TUNSETIFF, ifr) < 0) fail('TUNSETIFF');
  const sz = Buffer.alloc(4);
  sz.writeInt32LE(vnetHdrSz);
  if (ioctlP(fd, TUNSETVNETHDRSZ, sz) < 0) fail('TUNSETVNETHDRSZ');
  if (ioctlV(fd, TUNSETOFFLOAD, offload) < 0) fail('TUNSETOFFLOAD');
  return fd;
}

export function closeFd(fd: number): void {
  cClose(fd);
}
