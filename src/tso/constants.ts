// The virtio_net_hdr fields the GSO engine reads; their values are src/vnethdr's constants.

/** The fields of struct virtio_net_hdr the engine reads (same names as the pcap vnet comment). */
export interface GsoHeader {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}
