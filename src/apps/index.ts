// src/apps: services and clients written only against the stack's socket API.
export * from './errors.ts';
export * from './pattern.ts';
export * from './tcp-services.ts';
export * from './udp-echo.ts';
export * from './http-server.ts';
export * from './clients.ts';
export * from './services.ts';
export * from './measure-servers.ts';
