// Typed errors of the netif folder: only configuration mistakes throw; datapath drops are counted.

export type NetIfErrorCode = 'BAD_CONFIG';

export class NetIfError extends Error {
  readonly code: NetIfErrorCode;
  constructor(code: NetIfErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'NetIfError';
    this.code = code;
  }
}
