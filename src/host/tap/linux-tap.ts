// A Linux TAP device opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR through libc (koffi), so every
// read() yields one virtio_net_hdr + Ethernet frame and every write() takes one. Mirrors what
// QEMU's tap backend does (net/tap-linux.c: tap_open, tap_fd_set_vnet_hdr_len, tap_fd_set_offload).
import { createRequire } from 'node:module';
import type Koffi from 'koffi';
import { IFNAMSIZ } from '../../netmap/constants.ts';
import { TunOffload } from '../../vnethdr/constants.ts';
import { TapError } from './errors.ts';

const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const EAGAIN = 11;
const EINTR = 4;
const EINVAL = 22;
const POLLIN = 0x1;
const POLLOUT = 0x4;

// uapi/linux/if_tun.h (x86-64 values)
const TUNSETIFF = 0x400454ca;
const TUNSETOFFLOAD = 0x400454d0;
const TUNGETVNETHDRSZ = 0x800454d7;
const TUNSETVNETHDRSZ = 0x400454d8;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const IFREQ_SIZE = 40; // char ifr_name[16] + 24-byte union; ifr_flags is a short at offset 16

/** Offloads a vnet-header guest normally wants: checksum, TSO v4/v6 with ECN, USO v4/v6. */
export const TUN_OFFLOAD_ALL =
  TunOffload.CSUM |
  TunOffload.TSO4 |
  TunOffload.TSO6 |
  TunOffload.TSO_ECN |
  TunOffload.USO4 |
  TunOffload.USO6;

/** The libc calls the TAP code makes (through koffi). */
interface Libc {
  open(path: string, flags: number): number;
  close(fd: number): number;
  ioctlPtr(fd: number, req: number, arg: Uint8Array): number;
  ioctlVal(fd: number, req: number, arg: number): number;
  read(fd: number, buf: Uint8Array, n: number): number;
  write(fd: number, buf: Uint8Array, n: number): number;
  readv(fd: number, iov: Uint8Array, cnt: number): number;
  writev(fd: number, iov: Uint8Array, cnt: number): number;
  /** The address of a typed array's first byte (koffi passes typed arrays by reference). */
  addressOf(buf: Uint8Array): bigint;
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  ifNameToIndex(name: string): number;
  eventfd(initval: number, flags: number): number;
  errno(): number;
}

let libc: Libc | undefined;
export type { Libc };

/** Architectures whose <asm-generic/ioctl.h> encoding the TUN ioctl numbers above follow. */
const GENERIC_IOCTL_ARCHES: readonly string[] = [
  'x64',
  'arm64',
  'ia32',
  'arm',
  'riscv64',
  's390x',
  'loong64',
];

/**
 * Throws TapError UNSUPPORTED_PLATFORM unless `platform`/`arch` is Linux with the generic ioctl
 * encoding (TAP devices, /dev/net/tun and these ioctl numbers are Linux's).
 */
export function checkTapPlatform(platform: string = process.platform, arch: string = process.arch): void {
  if (platform !== 'linux' || !GENERIC_IOCTL_ARCHES.includes(arch))
    throw new TapError(
      'UNSUPPORTED_PLATFORM',
      `tap: Linux TAP devices are not available on ${platform}/${arch} (Linux on ${GENERIC_IOCTL_ARCHES.join(', ')})`,
    );
}

/**
 * libc through koffi, loaded on the first TAP open and never before: importing the package loads no
 * native code, and a platform without TAP (or without koffi's binary) fails here with a TapError.
 */
export function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  checkTapPlatform();
  let koffi: typeof Koffi;
  let lib: ReturnType<typeof Koffi.load>;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    lib = koffi.load('libc.so.6');
  } catch (e) {
    throw new TapError(
      'NATIVE_UNAVAILABLE',
      `tap: cannot load libc through koffi (${e instanceof Error ? e.message : String(e)})`,
      0,
      { cause: e },
    );
  }
  // ioctl is variadic in C; two fixed prototypes of the same symbol give pointer and value forms.
  // memcpy(dst, dst, 0) returns dst: the address koffi passed, that is the array's memory.
  const memcpy = lib.func('void *memcpy(void *dst, const void *src, size_t n)');
  libc = {
    open: lib.func('int open(const char *path, int flags)'),
    close: lib.func('int close(int fd)'),
    ioctlPtr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']),
    ioctlVal: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']),
    read: lib.func('long read(int fd, void *buf, unsigned long n)'),
    write: lib.func('long write(int fd, const void *buf, unsigned long n)'),
    readv: lib.func('long readv(int fd, const void *iov, int iovcnt)'),
    writev: lib.func('long writev(int fd, const void *iov, int iovcnt)'),
    addressOf: (buf) => BigInt(koffi.address(memcpy(buf, buf, 0))),
    poll: lib.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    ifNameToIndex: lib.func('unsigned int if_nametoindex(const char *ifname)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
    errno: () => koffi.errno(),
  };
  return libc;
}

export interface TapOpenOptions {
  /** virtio_net_hdr length the kernel reads and writes in front of each frame: 10 or 12. Default 12. */
  vnetHdrLen?: 10 | 12;
  /** TUNSETOFFLOAD flags (TunOffload.* of src/vnethdr); default TUN_OFFLOAD_ALL. 0 makes the kernel segment and checksum. */
  offloads?: number;
  /** Open non-blocking: read() then returns -1 when no frame is waiting. Default true. */
  nonBlocking?: boolean;
}

/** poll() event bits, for LinuxTap.poll. */
export const TAP_POLL = { IN: POLLIN, OUT: POLLOUT } as const;

/** errno values LinuxTap.recv/send return negated (asm-generic/errno-base.h). */
export const TAP_ERRNO = { EAGAIN, EINVAL } as const;

/** What another thread of this process needs to use an open tap (file descriptors are per process). */
export interface TapFdShared {
  name: string;
  fd: number;
  vnetHdrLen: number;
  offloads: number;
}

/** Most segments one recvScatter/sendGather takes (netmap's NETMAP_MAX_FRAGS and one spare). */
export const TAP_IOV_MAX = 65;
const IOV_SIZE = 16; // struct iovec { void *iov_base; size_t iov_len; } on 64-bit Linux

/** An open TAP file descriptor. Reads and writes move whole `vnet header + frame` units. */
export class LinuxTap {
  private closed = false;
  /** struct iovec[TAP_IOV_MAX] for readv/writev, made once. */
  private readonly iov = new Uint8Array(TAP_IOV_MAX * IOV_SIZE);
  private readonly iovDv = new DataView(this.iov.buffer);
  /** The memory the iovecs point into, and its address in two 32-bit halves. */
  private mem: Uint8Array | null = null;
  private memLo = 0;
  private memHi = 0;
  private readonly pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
  private readonly pollDv: DataView;

  private constructor(
    readonly name: string,
    readonly fd: number,
    readonly vnetHdrLen: number,
    readonly offloads: number,
    private readonly c: Libc,
    /** false for a descriptor borrowed from another thread (fromFd): close() leaves it open. */
    private readonly owned = true,
  ) {
    this.pollDv = new DataView(this.pollfd.buffer);
    this.pollDv.setInt32(0, fd, true);
    this.pollDv.setInt16(4, POLLIN, true);
  }

  /**
   * The same open tap seen from another thread of this process (a kloop worker): no new open, no
   * ioctl; close() on it does not close the descriptor, its owner does.
   */
  static fromFd(s: TapFdShared): LinuxTap {
    if (!Number.isInteger(s.fd) || s.fd < 0) throw new TapError('BAD_FD', `tap: bad descriptor ${s.fd}`);
    return new LinuxTap(s.name, s.fd, s.vnetHdrLen, s.offloads, loadLibc(), false);
  }

  /** The structured-cloneable description fromFd() takes. */
  shared(): TapFdShared {
    return { name: this.name, fd: this.fd, vnetHdrLen: this.vnetHdrLen, offloads: this.offloads };
  }

  /**
   * Attaches to the existing TAP interface `name` in the current network namespace (as a VMM
   * attaches to a tap made with `ip tuntap add … vnet_hdr`). Refuses to create a new one.
   * @mirrors tap-linux.c:tap_open
   * @mirrors tap-linux.c:tap_fd_set_vnet_hdr_len
   * @mirrors tap-linux.c:tap_fd_set_offload
   */
  static open(name: string, opts: TapOpenOptions = {}): LinuxTap {
    if (name.length === 0 || name.length >= IFNAMSIZ || !/^[\x21-\x7e]+$/.test(name) || name.includes('/')) {
      throw new TapError('BAD_NAME', `tap: bad interface name ${JSON.stringify(name)}`);
    }
    const c = loadLibc();
    // TUNSETIFF would silently create a new device for an unknown name; a user asking for an
    // existing tap wants an error instead. if_nametoindex asks the thread's current netns (after a
    // setns too), where /sys/class/net shows the netns sysfs was mounted in.
    if (c.ifNameToIndex(name) === 0) {
      throw new TapError(
        'NO_SUCH_INTERFACE',
        `tap: interface ${name} does not exist in this network namespace`,
      );
    }
    const flags = O_RDWR | O_CLOEXEC | (opts.nonBlocking === false ? 0 : O_NONBLOCK);
    const fd = c.open('/dev/net/tun', flags);
    if (fd < 0) {
      const e = c.errno();
      throw new TapError('TUN_UNAVAILABLE', `tap: cannot open /dev/net/tun (errno ${e})`, e);
    }
    const fail = (code: 'NOT_A_TAP' | 'IOCTL_FAILED', what: string): never => {
      const e = c.errno();
      c.close(fd);
      throw new TapError(code, `tap: ${what} failed on ${name} (errno ${e})`, e);
    };
    const ifr = new Uint8Array(IFREQ_SIZE);
    for (let i = 0; i < name.length; i++) ifr[i] = name.charCodeAt(i);
    new DataView(ifr.buffer).setUint16(16, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    if (c.ioctlPtr(fd, TUNSETIFF, ifr) < 0) fail('NOT_A_TAP', 'TUNSETIFF');

    const hdrLen = opts.vnetHdrLen ?? 12;
    const sz = new Uint8Array(4);
    new DataView(sz.buffer).setInt32(0, hdrLen, true);
    if (c.ioctlPtr(fd, TUNSETVNETHDRSZ, sz) < 0) fail('IOCTL_FAILED', 'TUNSETVNETHDRSZ');
    sz.fill(0);
    if (c.ioctlPtr(fd, TUNGETVNETHDRSZ, sz) < 0) fail('IOCTL_FAILED', 'TUNGETVNETHDRSZ');
    const got = new DataView(sz.buffer).getInt32(0, true);
    if (got !== hdrLen) fail('IOCTL_FAILED', `TUNSETVNETHDRSZ read back ${got}`);

    const offloads = opts.offloads ?? TUN_OFFLOAD_ALL;
    if (c.ioctlVal(fd, TUNSETOFFLOAD, offloads) < 0)
      fail('IOCTL_FAILED', `TUNSETOFFLOAD 0x${offloads.toString(16)}`);
    return new LinuxTap(name, fd, hdrLen, offloads, c);
  }

  /**
   * Reads one `vnet header + frame` into buf[off, off+len). Returns its length, or -1 when nothing
   * is waiting (non-blocking). A frame longer than `len` is truncated by the kernel: pass ≥ 65 601.
   */
  read(buf: Uint8Array, off: number, len: number): number {
    this.assertOpen();
    const view = this.window(buf, off, len);
    for (;;) {
      const n = this.c.read(this.fd, view, len);
      if (n >= 0) return n;
      const e = this.c.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return -1;
      throw new TapError('IO_ERROR', `tap: read on ${this.name} failed (errno ${e})`, e);
    }
  }

  /**
   * Writes one `vnet header + frame`. Returns false when the kernel queue is full (non-blocking);
   * throws WRITE_REJECTED when Linux refuses the header (EINVAL, see virtio_net_hdr_to_skb).
   */
  write(buf: Uint8Array, off: number, len: number): boolean {
    this.assertOpen();
    const view = this.window(buf, off, len);
    for (;;) {
      const n = this.c.write(this.fd, view, len);
      if (n >= 0) return true;
      const e = this.c.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return false;
      if (e === EINVAL)
        throw new TapError('WRITE_REJECTED', `tap: ${this.name} rejected a frame (EINVAL)`, e);
      throw new TapError('IO_ERROR', `tap: write on ${this.name} failed (errno ${e})`, e);
    }
  }

  /**
   * Datapath read: one `vnet header + frame` into buf[0, len), its length, or −errno (−EAGAIN when
   * nothing is waiting). Never throws and allocates nothing, for loops that count failures.
   */
  recv(buf: Uint8Array, len: number): number {
    if (this.closed || !(len >= 0 && len <= buf.length)) return -EINVAL;
    for (;;) {
      const n = this.c.read(this.fd, buf, len);
      if (n >= 0) return n;
      const e = this.c.errno();
      if (e !== EINTR) return -e;
    }
  }

  /** Datapath write of buf[0, len): len, or −errno (−EINVAL: Linux refused the header). Never throws. */
  send(buf: Uint8Array, len: number): number {
    if (this.closed || !(len >= 0 && len <= buf.length)) return -EINVAL;
    for (;;) {
      const n = this.c.write(this.fd, buf, len);
      if (n >= 0) return n;
      const e = this.c.errno();
      if (e !== EINTR) return -e;
    }
  }

  /**
   * Datapath scatter read: one `vnet header + frame` over mem[offs[i], offs[i] + segLen) for
   * i < cnt in turn (readv), straight into the ring's buffers. Its length, or −errno. Never throws.
   * `mem` must be memory that never moves (a SharedArrayBuffer's, as the netmap region's).
   */
  recvScatter(mem: Uint8Array, offs: Int32Array, cnt: number, segLen: number): number {
    if (this.closed || !this.fillIov(mem, offs, null, cnt, segLen)) return -EINVAL;
    for (;;) {
      const n = this.c.readv(this.fd, this.iov, cnt);
      if (n >= 0) return n;
      const e = this.c.errno();
      if (e !== EINTR) return -e;
    }
  }

  /** Datapath gather write of mem[offs[i], offs[i] + lens[i]), i < cnt, as one frame: its length or −errno. */
  sendGather(mem: Uint8Array, offs: Int32Array, lens: Int32Array, cnt: number): number {
    if (this.closed || !this.fillIov(mem, offs, lens, cnt, 0)) return -EINVAL;
    for (;;) {
      const n = this.c.writev(this.fd, this.iov, cnt);
      if (n >= 0) return n;
      const e = this.c.errno();
      if (e !== EINTR) return -e;
    }
  }

  /** Writes the iovecs for the segments; false (nothing written) for any segment outside `mem`. */
  private fillIov(
    mem: Uint8Array,
    offs: Int32Array,
    lens: Int32Array | null,
    cnt: number,
    segLen: number,
  ): boolean {
    if (!(cnt > 0 && cnt <= TAP_IOV_MAX && cnt <= offs.length)) return false;
    if (this.mem !== mem) {
      const a = this.c.addressOf(mem);
      this.mem = mem;
      this.memLo = Number(a & 0xffffffffn);
      this.memHi = Number(a >> 32n);
    }
    const dv = this.iovDv;
    for (let i = 0; i < cnt; i++) {
      const off = offs[i]!;
      const len = lens === null ? segLen : lens[i]!;
      if (!(off >= 0 && len >= 0 && off + len <= mem.length)) return false;
      // base + off without BigInt (no allocation): the low word's carry goes into the high one.
      let lo = this.memLo + off;
      let hi = this.memHi;
      if (lo >= 0x1_0000_0000) {
        lo -= 0x1_0000_0000;
        hi++;
      }
      const e = i * IOV_SIZE;
      dv.setUint32(e, lo, true);
      dv.setUint32(e + 4, hi, true);
      dv.setUint32(e + 8, len, true);
      dv.setUint32(e + 12, 0, true);
    }
    return true;
  }

  /** Waits up to `timeoutMs` (blocking this thread: use it in the worker serving the port). */
  waitReadable(timeoutMs: number): boolean {
    return (this.poll(POLLIN, timeoutMs) & POLLIN) !== 0;
  }

  /** poll(2) for `events` (TAP_POLL bits) up to `timeoutMs`; returns revents (0 on timeout). Blocks. */
  poll(events: number, timeoutMs: number): number {
    this.assertOpen();
    this.pollDv.setInt16(4, events, true);
    this.pollDv.setInt16(6, 0, true);
    const n = this.c.poll(this.pollfd, 1, timeoutMs);
    return n > 0 ? this.pollDv.getUint16(6, true) : 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.c.close(this.fd);
  }

  /** buf[off, off+len) for libc; at offset 0 the buffer itself (the kernel touches only len bytes). */
  private window(buf: Uint8Array, off: number, len: number): Uint8Array {
    if (!(off >= 0 && len >= 0 && off + len <= buf.length))
      throw new TapError(
        'BAD_RANGE',
        `tap: range [${off}, ${off + len}) outside a ${buf.length}-byte buffer`,
      );
    return off === 0 ? buf : buf.subarray(off, off + len);
  }

  private assertOpen(): void {
    if (this.closed) throw new TapError('CLOSED', `tap: ${this.name} is closed`);
  }
}
