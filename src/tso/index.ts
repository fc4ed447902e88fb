// Software GSO (TCPv4/v6, USO, UFO), checksum completion and GRO, byte-identical to Linux.
export { TsoError, type TsoErrorCode } from './errors.ts';
export * from './constants.ts';
export { SegmentList, type MemoryWindow } from './segment-list.ts';
export { gsoSegment, trySegment, checkTapWrite, type SegmentOptions, type WriteVerdict } from './segment.ts';
export { GroEngine, GroOutput, type GroCounters } from './gro.ts';
