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
  tunGetUser,
  validateTapWrite,
  virtioNetHdrToSkb,
  type VnetHdrFields,
} from './linux.ts';
export {
  PROBING_TAP_KERNEL,
  UPSTREAM_TAP_KERNEL,
  describeTapKernel,
  type TapKernelBehaviour,
} from './kernel-behaviour.ts';
export { FlowKeysBasic, flowDissectBasic } from './flow-dissect.ts';
export { buildTxHdr, buildTxHdrMbuf, txHdrFromMeta, type TxHdrOptions } from './tx.ts';
export { applyRxHdr, rxErrorOffset } from './rx.ts';
export { metaToVnetHdr, vnetHdrToMeta } from './meta.ts';
