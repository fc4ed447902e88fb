export {
  LinuxTap,
  checkTapPlatform,
  TAP_ERRNO,
  TAP_IOV_MAX,
  TAP_POLL,
  type TapFdShared,
  TUN_OFFLOAD_ALL,
  type TapOpenOptions,
} from './linux-tap.ts';
export { TapError, type TapErrorCode } from './errors.ts';
export { FdPoll, KickFd } from './kick-fd.ts';
export { UV_POLL, UvBeforePoll, UvPoll } from './uv-poll.ts';
