// pcap and pcapng streaming reader/writer, and the vnet-header comment convention.
export { PcapError, type PcapErrorCode } from './errors.ts';
export * from './constants.ts';
export { CapturePacket } from './packet.ts';
export { FdSource } from './fd-source.ts';
export { FdSink } from './fd-sink.ts';
export {
  CaptureReader,
  PcapReader,
  PcapngReader,
  openCapture,
  type CaptureFormat,
  type CaptureInterface,
} from './reader.ts';
export {
  PcapWriter,
  PcapngWriter,
  type ByteOrder,
  type PcapWriterOptions,
  type PcapngWriterOptions,
  type PcapngInterfaceOptions,
} from './writer.ts';
export {
  formatTimestamp,
  timestampToUnits,
  unitsToTimestamp,
  type Timestamp,
  type Units,
} from './timestamp.ts';
export { parseVnetComment, formatVnetComment, type VnetComment } from './vnet-comment.ts';
