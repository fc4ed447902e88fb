// virtio_net_hdr: codec, Linux's validation of TAP writes, transmit header building and receive
// header application.
export * from './constants.ts';
export { VnetHdrError, type VnetHdrErrorCode, type TapVerdict } from './errors.ts';
export { VnetHdr, decodeVnetHdr, encodeVnetHdr } from './vnet-hdr.ts';
export {
  SkbState,
  TapWriteInfo,
  gsoSegmentCheck,
  tapVerdict,
  validateTapWrite,
  virtioNetHdrToSkb,
} from './linux.ts';
export { buildTxHdr, buildTxHdrMbuf, type TxHdrOptions } from './tx.ts';
export { applyRxHdr, rxErrorOffset } from './rx.ts';
export { metaToVnetHdr, vnetHdrToMeta } from './meta.ts';
