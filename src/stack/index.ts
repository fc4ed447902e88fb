// The unikernel TCP/IP stack: public API.
export * from './errors.ts';
export * from './timer.ts';
export * from './neighbour.ts';
export * from './tcp/index.ts';
