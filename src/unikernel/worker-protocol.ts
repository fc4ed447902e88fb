// What a unikernel worker (worker.ts in the parent, worker-main.ts in the thread) exchange: the
// boot data, requests and replies, and errors as plain data (worker messages are structured
// clones, which keep an Error's message but not its class or code).
import type { ConnReport, TcpSendResult } from '../apps/index.ts';
import type { PortHandle } from '../host/index.ts';
import type { TcbOptions } from '../stack/index.ts';
import type { UnikernelStats } from './unikernel.ts';

/** A service the worker's unikernel runs from boot on, given by name. */
export type WorkerService =
  /** A sink that only counts what it reads (TCP_STREAM); the parent reads the count with sinkBytes(port). */
  | { kind: 'sink'; port: number }
  /** A NODELAY echo (TCP_RR). */
  | { kind: 'rr'; port: number }
  /**
   * The apps' services (TCP echo 7, discard 9, UDP echo 7, HTTP 80, or `ports`); each closed echo
   * or discard connection is reported to the parent ('conn' event, with the discard's SHA-256).
   */
  | { kind: 'standard'; ports?: { echo?: number; discard?: number; udpEcho?: number; http?: number } };

/** The boot options a worker's unikernel takes: BootOptions that can cross a thread. */
export interface WorkerBootOptions {
  ipv4: string;
  ipv6?: string;
  gateway?: string;
  gateway6?: string;
  offloads?: boolean;
  mtu?: number;
  tcp?: TcbOptions;
  buffers?: number;
  isnKey?: Uint8Array;
  /**
   * BootOptions.busyPollUs; default here 100 µs (worker-main.ts): a worker's guest always has its
   * peer in another thread. 0 turns it off.
   */
  busyPollUs?: number;
}

/** workerData of a unikernel worker. */
export interface UnikernelWorkerData {
  port: PortHandle;
  boot: WorkerBootOptions;
  services: WorkerService[];
  /** One BigInt64 word per 'sink' service, in `services` order: bytes read so far. */
  counters: SharedArrayBuffer;
}

/** tcpSend's options that can cross a thread (no callbacks). */
export interface WorkerSendOptions {
  host: string;
  port: number;
  bytes: number;
  durationMs?: number;
  readBack?: boolean;
  timeoutMs?: number;
}

/** Parent → worker. */
export type WorkerRequest =
  | { id: number; op: 'ping'; host: string; timeout?: number; size?: number }
  | { id: number; op: 'stats' }
  | { id: number; op: 'send'; o: WorkerSendOptions }
  | { id: number; op: 'close' };

/** What each request resolves with. */
export interface WorkerReplies {
  ping: number;
  stats: UnikernelStats;
  send: TcpSendResult;
  close: null;
}

/** An error as data: its class name, its code if it has one, its message. */
export interface ErrorData {
  name: string;
  code?: string;
  message: string;
}

/** Worker → parent. */
export type WorkerEvent =
  | { type: 'ready' }
  | { type: 'boot-failed'; error: ErrorData }
  | { type: 'reply'; id: number; value: unknown }
  | { type: 'reply'; id: number; error: ErrorData }
  | { type: 'conn'; report: ConnReport };

export function errorData(e: unknown): ErrorData {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string'
    ? { name: e.name, code, message: e.message }
    : { name: e.name, message: e.message };
}
