/** Why a Linux TAP device could not be opened or used. */
export type TapErrorCode =
  | 'TUN_UNAVAILABLE' // /dev/net/tun could not be opened (no module, no permission)
  | 'NO_SUCH_INTERFACE' // the named interface does not exist in this network namespace
  | 'NOT_A_TAP' // it exists but TUNSETIFF refused it (a veth, a tun, flags mismatch)
  | 'BAD_NAME' // empty, too long for IFNAMSIZ, or not ASCII
  | 'BAD_FD' // fromFd() given something that is not a descriptor number
  | 'BAD_RANGE' // read()/write() given an offset/length outside the buffer
  | 'IOCTL_FAILED' // a configuration ioctl failed (see errno)
  | 'WRITE_REJECTED' // the kernel refused a frame (EINVAL: a header Linux rejects)
  | 'IO_ERROR' // any other read/write failure
  | 'CLOSED'
  | 'UNSUPPORTED_PLATFORM' // not Linux, or an architecture whose ioctl numbers differ
  | 'NATIVE_UNAVAILABLE'; // koffi (the FFI to libc) or libc.so.6 could not be loaded

export class TapError extends Error {
  constructor(
    readonly code: TapErrorCode,
    message: string,
    readonly errno = 0,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TapError';
  }
}
