// The stack ⇄ interface contract and an in-memory pair for tests.
export { NetIfError, type NetIfErrorCode } from './errors.ts';
export {
  NO_OFFLOADS,
  type DeliverFn,
  type NetIf,
  type NetIfEvents,
  type NetIfOffloads,
  type TxResult,
} from './netif.ts';
export { MemNetIf, createNetIfPair, type NetIfPairOptions, type NetIfPairSide } from './pair.ts';
