// The composition root: one guest machine with a ptnet NIC whose backend is a host netmap port
// (VALE, pipe or TAP), the guest driver attached to it in network-interface mode, and the stack on
// that NetIf — the whole packet path of docs/ARCHITECTURE.md, booted by one call. The host sync loop
// runs inline (one thread, deterministic) or in a worker thread (the kernel thread's role).
import { Machine } from '../device/index.ts';
import { PtnetAdapter, PtnetNetIf } from '../driver/index.ts';
import {
  HostError,
  type KloopThread,
  SyncKloop,
  type KloopMode,
  type NetmapPort,
  checkPollOptions,
} from '../host/index.ts';
import { Mempool, type Mbuf } from '../mbuf/index.ts';
import {
  NO_OFFLOADS,
  type DeliverFn,
  type NetIf,
  type NetIfEvents,
  type NetIfOffloads,
  type TxResult,
} from '../netif/index.ts';
import { ipv6ToString } from '../wire/index.ts';
import {
  Stack,
  captureStack,
  decodeSnapshot,
  encodeSnapshot,
  restoreStack,
  type Net,
  type RealTimeDriver,
  type RestoredSockets,
  type StackSnapshot,
  type TcbOptions,
  type TimerHost,
  wallClock,
} from '../stack/index.ts';
import { startServices, type Services, type ServicesOptions } from '../apps/index.ts';
import { UnikernelError } from './errors.ts';
import { checkAddressOptions } from './address.ts';
import { NetIfShell } from './shell.ts';

export interface BootOptions {
  /** The host port the NIC is passed through to (`vale.attach('a')`, a pipe end, `openTapPort`). */
  port: NetmapPort;
  /** "A.B.C.D/LEN". */
  ipv4: string;
  /**
   * "ADDR/LEN": enables IPv6 with this address and the link-local one derived from the MAC. boot
   * resolves once duplicate address detection has passed for both (RFC 4862; up to ~2 s).
   */
  ipv6?: string;
  /** Default IPv4 gateway (on-link). */
  gateway?: string;
  /** Default IPv6 router (usually its link-local address). */
  gateway6?: string;
  /** Where the host sync loop runs (default 'inline'). */
  mode?: KloopMode;
  /**
   * Negotiate the virtio-net header (checksum offload, TSO and GRO end to end; default true).
   * Off: the driver asks for no header, the stack checksums and segments in software.
   */
  offloads?: boolean;
  /** Interface MTU (default 1500). */
  mtu?: number;
  /** Defaults for every TCP connection. */
  tcp?: TcbOptions;
  /**
   * Packet buffers of the stack (transmit) and of the driver (receive), 2 KiB each (default 8192),
   * when the port lends no extra netmap buffers (the NIC and the stack then share those).
   */
  buffers?: number;
  /**
   * worker mode: the sync-loop thread that serves this unikernel's port, shared with the other
   * unikernels given it (their ports on the same VALE switch or pipe; not a TAP port). Default: a
   * thread for this port alone. spinUs, pollers and workerUrl are then the thread's, not given here.
   */
  kloopThread?: KloopThread;
  /** worker mode: the longest µs the sync loop polls before sleeping (default the host's). */
  spinUs?: number;
  /** worker mode: sync loop threads of the process that may poll at once (default cores − 1). */
  pollers?: number;
  /** worker mode: the longest µs the guest thread polls for an interrupt after a kick (default the host's). */
  guestPollUs?: number;
  /**
   * inline mode: after a kick, the longest µs this thread polls its port's doorbell for a wake-up
   * from another thread (default 0, never): for a port whose peer is a UnikernelWorker on the same
   * switch, whose frames then skip this thread's event-loop wake-up. Adaptive (SO_BUSY_POLL's
   * role; host/kloop-irq-poll.ts).
   */
  busyPollUs?: number;
  /**
   * The port's traffic is taken by something running while this thread does (NetIf.concurrentPeer):
   * a receive turn's replies then leave after each received frame, not at the turn's end. Default:
   * true in worker mode (the sync loop has a thread) and with busyPollUs > 0 (a peer in another
   * thread); false for an inline sync loop, where one kick per turn is cheaper and the early ACK
   * helps nobody in this thread. An inline TAP port keeps false: its kernel peer runs concurrently,
   * but with its own large socket buffers it did not wait on the turn's ACKs (streams both ways the
   * same within their spread, bench/README.md).
   */
  concurrentPeer?: boolean;
  /**
   * worker mode: the sync loop's worker entry module. Default: `kloop-worker.js` beside the
   * package's compiled host module; an application bundle ships the `ptnet-ts/kloop-worker` export
   * as `kloop-worker.js` beside the bundle, or says where it is here.
   */
  workerUrl?: URL | string;
  /**
   * The stack's timers (default wall time). A VirtualClock shared by two inline unikernels makes
   * the whole path deterministic: the caller moves time while the system is idle.
   */
  time?: TimerHost;
  /** RFC 6528 ISN key (default random): fixed, with `time`, for runs that replay exactly. */
  isnKey?: Uint8Array;
  /**
   * A snapshot from `freeze()` (docs/SNAPSHOT.md): the stack comes up with its MAC, connections,
   * listeners, UDP sockets and neighbours, announces itself, and hands the sockets back in
   * `restored`. Bytes are decoded and checked before anything is plugged: a bad snapshot rejects
   * with a SnapshotError. A function is called once the new NIC is up (make before break: pass
   * `() => old.freeze()` so that the freeze, and the outage, start only then); what it returns
   * is checked the same way, and the NIC is unplugged again if it is refused. The addresses must
   * be the frozen stack's; IPv6 addresses skip DAD (they were in use and are announced instead).
   */
  restore?: Uint8Array | (() => Promise<Uint8Array>);
}

/** What a restore found and how long the unikernel was away. */
export interface RestoreReport {
  /** From the start of freeze() to the restored NIC carrying traffic, ms (wall clock, across processes). */
  outageMs: number;
  connections: number;
}

export interface UnikernelStats {
  txPackets: number;
  rxPackets: number;
  txBytes: number;
  rxBytes: number;
  /**
   * Every drop counted on the path: driver (both directions), stack link layer, packets lost
   * waiting for ARP or NDP (IPv4 and IPv6 OutDiscards), host port.
   */
  drops: number;
  /** TCP segments retransmitted. */
  retransmits: number;
}

/**
 * The NIC with its offloads hidden from the stack: for `offloads: false` on a port whose virtio-net
 * header cannot be turned off (a TAP is opened with 12 bytes). The stack then checksums and
 * segments in software and the header goes out with no flags (VIRTIO_NET_HDR_GSO_NONE), what a
 * Linux guest does after `ethtool -K eth0 tx off tso off`.
 */
class NoOffloadNetIf implements NetIf {
  readonly offloads: Readonly<NetIfOffloads> = NO_OFFLOADS;
  constructor(private readonly inner: NetIf) {}
  get name(): string {
    return this.inner.name;
  }
  get mac(): Uint8Array {
    return this.inner.mac;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get concurrentPeer(): boolean {
    return this.inner.concurrentPeer === true;
  }
  transmit(m: Mbuf, more?: boolean): TxResult {
    return this.inner.transmit(m, more);
  }
  flush(): void {
    this.inner.flush();
  }
  poll(budget: number, deliver: DeliverFn): number {
    return this.inner.poll(budget, deliver);
  }
  setEvents(events: NetIfEvents | null): void {
    this.inner.setEvents(events);
  }
}

/** DAD takes at most dadDelay (1 s) + one RetransTimer (1 s) per probe; allow for a busy machine. */
const DAD_WAIT_MS = 10_000;

/** One ptnet NIC on one host port: the "plugin" behind the stack's NetIfShell. */
interface Nic {
  readonly port: NetmapPort;
  readonly machine: Machine;
  readonly adapter: PtnetAdapter;
  readonly netif: PtnetNetIf;
  readonly kloops: readonly SyncKloop[];
  readonly mode: KloopMode;
}

interface NicOptions {
  mode: KloopMode;
  buffers: number;
  vnetHdr: boolean;
  mtu: number | undefined;
  kloopThread: KloopThread | undefined;
  spinUs: number | undefined;
  pollers: number | undefined;
  guestPollUs: number | undefined;
  busyPollUs: number | undefined;
  concurrentPeer: boolean | undefined;
  workerUrl: URL | string | undefined;
}

/**
 * The sync loop's options, checked before anything is plugged: poll bounds the host accepts, and a
 * shared sync-loop thread that is in worker mode, brings its own settings and can serve the port.
 */
function checkKloopOptions(o: BootOptions, mode: KloopMode): void {
  asBadOption(() => checkPollOptions(o));
  if (o.kloopThread === undefined) return;
  if (mode !== 'worker') throw new UnikernelError('BAD_OPTION', 'kloopThread needs mode worker');
  if ((o.spinUs ?? o.pollers ?? o.workerUrl) !== undefined)
    throw new UnikernelError('BAD_OPTION', "spinUs, pollers and workerUrl are the kloopThread's own");
  checkThreadServes(o.kloopThread, o.port);
}

/** The thread's refusal of a port (another switch, a TAP port) as the unikernel's BAD_OPTION. */
function checkThreadServes(t: KloopThread, port: NetmapPort): void {
  asBadOption(() => t.check(port));
}

/** Runs a host check; its HostError becomes the unikernel's BAD_OPTION (the host's as `cause`). */
function asBadOption(check: () => void): void {
  try {
    check();
  } catch (e) {
    if (e instanceof HostError) throw new UnikernelError('BAD_OPTION', e.message, { cause: e });
    throw e;
  }
}

/**
 * Plugs a ptnet NIC for `port` into a new guest machine and attaches the driver, which starts the
 * host sync loop through PTCTL CREATE; resolves once a worker loop runs.
 */
async function plugNic(port: NetmapPort, o: NicOptions): Promise<Nic> {
  const machine = new Machine({ size: 16 * 4096 });
  const kloops: SyncKloop[] = [];
  const opts = {
    // The stack's sockets and servers hold the process refs (node:net semantics), not the thread.
    unrefWorker: true,
    ...(o.kloopThread === undefined ? {} : { thread: o.kloopThread }),
    ...(o.spinUs === undefined ? {} : { spinUs: o.spinUs }),
    ...(o.pollers === undefined ? {} : { pollers: o.pollers }),
    ...(o.guestPollUs === undefined ? {} : { guestPollUs: o.guestPollUs }),
    ...(o.busyPollUs === undefined ? {} : { busyPollUs: o.busyPollUs }),
    ...(o.workerUrl === undefined ? {} : { workerUrl: o.workerUrl }),
  };
  machine.addPtnet(port, (p, csb, irq) => {
    const l = new SyncKloop(p, csb, irq, o.mode, opts);
    kloops.push(l);
    return l;
  });
  const adapter = PtnetAdapter.attach(machine, { vnetHdr: o.vnetHdr });
  try {
    await Promise.all(kloops.map((l) => l.ready()));
  } catch (e) {
    adapter.detach();
    await Promise.all(kloops.map((l) => l.closed()));
    throw new UnikernelError('WORKER_START', e instanceof Error ? e.message : String(e), { cause: e });
  }
  const netif = new PtnetNetIf(adapter, {
    rxPool: new Mempool({ segments: o.buffers }),
    name: 'ptnet0',
    ...(o.mtu === undefined ? {} : { mtu: o.mtu }),
    concurrentPeer: o.concurrentPeer ?? (o.mode === 'worker' || (o.busyPollUs ?? 0) > 0),
  });
  return { port, machine, adapter, netif, kloops, mode: o.mode };
}

/** What goes behind the shell: the NIC itself, or with its offloads hidden when they are not wanted. */
function pluginOf(netif: PtnetNetIf, offloads: boolean): NetIf {
  return offloads ? netif : new NoOffloadNetIf(netif);
}

/** Detaches the driver (PTCTL DELETE stops the host loop) and waits for its threads to exit. */
async function unplugNic(nic: Nic): Promise<void> {
  nic.netif.setEvents(null);
  nic.adapter.detach();
  for (const l of nic.kloops) l.stop();
  await Promise.all(nic.kloops.map((l) => l.closed()));
}

/** What a backend switch measured. */
export interface SwitchReport {
  /**
   * From the moment transmit stopped to the first transmit possible on the new NIC, ms. Moving to
   * another port excludes plugging the new NIC (done before); re-plugging the same port includes
   * it, a worker thread's start among it.
   */
  outageMs: number;
  /** Frames the old NIC still delivered while it was drained. */
  drainedRx: number;
  /** Whether the old NIC's TX rings were empty (the host had consumed everything) at unplug. */
  txDrained: boolean;
}

/** How long a switch waits for the old host loop to consume what the guest published. */
const TX_DRAIN_MS = 200;

export class Unikernel {
  /** node:net / node:dgram-like API of the stack. */
  readonly net: Net;
  /** After a boot with `restore`: the sockets, servers and UDP sockets of the snapshot, live again. */
  restored: RestoredSockets | null = null;
  /** After a boot with `restore`: the outage and what was restored. */
  restoreReport: RestoreReport | null = null;
  private down = false;
  private switching = false;

  private constructor(
    private nic: Nic,
    private readonly shell: NetIfShell,
    readonly stack: Stack,
    private readonly nicOpts: NicOptions,
  ) {
    this.net = stack.net;
  }

  /** The host port the NIC is passed through to now. */
  get port(): NetmapPort {
    return this.nic.port;
  }
  get machine(): Machine {
    return this.nic.machine;
  }
  get adapter(): PtnetAdapter {
    return this.nic.adapter;
  }
  /** The ptnet NIC behind the stack's shell now. */
  get netif(): PtnetNetIf {
    return this.nic.netif;
  }
  get kloops(): readonly SyncKloop[] {
    return this.nic.kloops;
  }
  get mode(): KloopMode {
    return this.nic.mode;
  }

  /**
   * Plugs a ptnet NIC for `port` into a new guest machine, attaches the driver (which starts the
   * host sync loop through PTCTL CREATE), waits for a worker loop to run, and starts the stack.
   */
  static async boot(o: BootOptions): Promise<Unikernel> {
    checkAddressOptions(o);
    // A snapshot's bytes are decoded and validated before anything is plugged (SnapshotError).
    const given = o.restore instanceof Uint8Array ? decodeSnapshot(o.restore) : null;
    const mode = o.mode ?? 'inline';
    if (mode !== 'inline' && mode !== 'worker')
      throw new UnikernelError('BAD_OPTION', `mode ${String(mode)}`);
    if (o.concurrentPeer !== undefined && typeof o.concurrentPeer !== 'boolean')
      throw new UnikernelError('BAD_OPTION', `concurrentPeer ${String(o.concurrentPeer)}`);
    checkKloopOptions(o, mode);
    const buffers = o.buffers ?? 8192;
    const wantOffloads = o.offloads ?? true;
    const nicOpts: NicOptions = {
      mode,
      buffers,
      vnetHdr: wantOffloads,
      mtu: o.mtu,
      kloopThread: o.kloopThread,
      spinUs: o.spinUs,
      pollers: o.pollers,
      guestPollUs: o.guestPollUs,
      busyPollUs: o.busyPollUs,
      concurrentPeer: o.concurrentPeer,
      workerUrl: o.workerUrl,
    };
    const nic = await plugNic(o.port, nicOpts);
    const { adapter, netif, kloops } = nic;
    let stack: Stack | null = null;
    try {
      // Make before break: a snapshot to come is asked for once the NIC (a worker loop's thread
      // included) is up, so the freeze it waits for starts only now.
      const snap = given ?? (typeof o.restore === 'function' ? decodeSnapshot(await o.restore()) : null);
      // DAD results of the link-local and the configured address.
      let dadLeft = 2;
      let dadDone: (dup: string | null) => void = () => {};
      const dad = new Promise<string | null>((r) => (dadDone = r));
      const plugin = pluginOf(netif, wantOffloads);
      const shell = snap === null ? new NetIfShell(plugin) : new NetIfShell(plugin, snap.mac);
      stack = new Stack({
        netif: shell,
        ipv4: o.ipv4,
        // The NIC's pool when the port lends extra buffers: frames are built in netmap buffers and
        // received ones arrive there, so the driver swaps buffers instead of copying.
        pool: netif.pool ?? new Mempool({ segments: buffers }),
        ...(o.gateway === undefined ? {} : { gateway: o.gateway }),
        ...(o.tcp === undefined ? {} : { tcp: o.tcp }),
        ...(o.time === undefined ? {} : { time: o.time }),
        ...(o.isnKey === undefined ? {} : { isnKey: o.isnKey }),
        ...(o.ipv6 === undefined
          ? {}
          : {
              ipv6: {
                addresses: [o.ipv6],
                ...(o.gateway6 === undefined ? {} : { gateway: o.gateway6 }),
                ...(snap === null ? {} : { dadTransmits: 0 }),
                onDad: (a, result) => {
                  if (result === 'duplicate') dadDone(ipv6ToString(a.addr));
                  else if (--dadLeft === 0) dadDone(null);
                },
              },
            }),
      });
      const restored = snap === null ? null : restoreStack(stack, snap);
      // Tell the segment (switch learning tables, the kernel's neighbour cache) who we are.
      stack.announce();
      if (snap !== null) {
        const uk = new Unikernel(nic, shell, stack, nicOpts);
        uk.restored = restored;
        uk.restoreReport = {
          outageMs: Math.max(0, wallClock() - snap.capturedAt),
          connections: snap.connections.length,
        };
        // The window probes and the announcements go out now.
        shell.flush();
        return uk;
      }
      if (o.ipv6 !== undefined) {
        // Also what keeps the process alive meanwhile: stack timers are unref'd, inline loops too.
        const guard = setTimeout(() => dadDone('timeout'), DAD_WAIT_MS);
        const dup = await dad;
        clearTimeout(guard);
        if (dup === 'timeout')
          throw new UnikernelError('IPV6_DAD_TIMEOUT', `DAD did not finish in ${DAD_WAIT_MS} ms`);
        if (dup !== null)
          throw new UnikernelError('IPV6_DUPLICATE', `${dup} is already in use on the link (DAD)`);
      }
      return new Unikernel(nic, shell, stack, nicOpts);
    } catch (e) {
      adapter.detach();
      (stack?.time as Partial<RealTimeDriver> | undefined)?.stop?.();
      // Nothing of a failed boot outlives its rejection: wait for worker threads to be gone.
      await Promise.all(kloops.map((l) => l.closed()));
      throw e;
    }
  }

  /** Whether the stack uses checksum offload and TSO (a virtio-net header in force and wanted). */
  get offloads(): boolean {
    return this.stack.txCsum;
  }

  /** Sends one ICMP echo request; resolves with the round-trip time in ms. */
  ping(host: string, opts: { timeout?: number; size?: number } = {}): Promise<number> {
    return this.stack.ping(host, opts);
  }

  /** Starts echo (7), discard (9), UDP echo (7) and HTTP (80) on this unikernel. */
  serve(o: ServicesOptions = {}): Services {
    return startServices(this.net, o);
  }

  stats(): UnikernelStats {
    const n = this.netif.counters;
    const s = this.stack.counters;
    const dp = this.port.datapath;
    let hostDrops = 0;
    for (const v of Object.values(dp.drops())) hostDrops += v;
    return {
      txPackets: n.txPackets,
      rxPackets: n.rxPackets,
      txBytes: n.txBytes,
      rxBytes: n.rxBytes,
      drops:
        n.txDropHdr +
        n.txDropSize +
        n.rxDropRunt +
        n.rxDropBadLen +
        n.rxDropHdr +
        n.rxDropFrags +
        s.txDrops +
        s.txNoBuffers +
        s.ipOutDiscards +
        (this.stack.ip6?.counters.outDiscards ?? 0) +
        hostDrops,
      retransmits: this.stack.tcp.counters.retransSegs,
    };
  }

  /**
   * Moves the running unikernel's NIC to another host port (VALE ⇄ pipe ⇄ TAP, inline ⇄ worker)
   * while its connections stay open, as a VM with a passthrough NIC is moved (vmxnet3 NPA):
   *
   * 1. Quiesce: the shell stops handing frames to the old NIC (the stack's backlog keeps them),
   *    the old NIC publishes what it held back, and the switch waits (up to 200 ms) until the host
   *    loop consumed every published TX slot; frames the old NIC already received are delivered.
   * 2. The driver detaches through its normal path (PTCTL DELETE stops the host loop). The new
   *    ptnet NIC for `port` (in `mode`, default the current one) was plugged before step 1 when
   *    `port` is another port (make before break), else it is plugged now.
   * 3. The shell, the NetIf the stack holds, stays: the new NIC goes behind it and the backlog
   *    drains into it.
   * 4. The stack announces its new location: a gratuitous ARP and unsolicited IPv6 neighbour
   *    advertisements, so switches and peers relearn it.
   *
   * The stack keeps its MAC (the one it booted with), whatever the new port's default is.
   */
  /**
   * Live migration, the first half: quiesces the NIC as switchBackend does (transmits held, what
   * the old NIC published drained, what it received delivered), stops the stack's timers, captures
   * the stack's whole state (docs/SNAPSHOT.md) and shuts the unikernel down. Resolves with the
   * snapshot's bytes, for `Unikernel.boot({ ..., restore })` in this or another thread or process.
   * The sockets of this unikernel are dead afterwards: the restored ones replace them.
   */
  async freeze(): Promise<Uint8Array> {
    if (this.down) throw new UnikernelError('SHUT_DOWN', 'freeze after shutdown');
    if (this.switching) throw new UnikernelError('BAD_OPTION', 'a backend switch is running');
    this.switching = true;
    try {
      const frozenAt = wallClock();
      const old = this.nic;
      this.shell.unplug();
      old.netif.flush();
      await waitTxDrained(old.adapter, TX_DRAIN_MS);
      for (;;) {
        const n = old.netif.poll(64, (m) => this.stack.input(m));
        if (n < 64) break;
      }
      (this.stack.time as Partial<RealTimeDriver>).stop?.();
      const snap: StackSnapshot = { ...captureStack(this.stack), capturedAt: frozenAt };
      await this.close();
      return encodeSnapshot(snap);
    } finally {
      this.switching = false;
    }
  }

  async switchBackend(port: NetmapPort, o: { mode?: KloopMode } = {}): Promise<SwitchReport> {
    if (this.down) throw new UnikernelError('SHUT_DOWN', 'switchBackend after shutdown');
    if (this.switching) throw new UnikernelError('BAD_OPTION', 'a backend switch is already running');
    const mode = o.mode ?? this.nic.mode;
    if (mode !== 'inline' && mode !== 'worker')
      throw new UnikernelError('BAD_OPTION', `mode ${String(mode)}`);
    // The unikernel's sync-loop thread, if it has one, must serve the new port too.
    const thread = this.nicOpts.kloopThread;
    if (mode === 'worker' && thread !== undefined && port !== this.nic.port) checkThreadServes(thread, port);
    this.switching = true;
    try {
      const old = this.nic;
      // Make before break: a different port gets its NIC (and worker thread) before the old one
      // stops carrying traffic, and is refused before anything stops; the same port can only be
      // re-plugged once it is free.
      let nic: Nic | null = null;
      if (port !== old.port) {
        nic = await plugNic(port, { ...this.nicOpts, mode });
        try {
          this.shell.check(pluginOf(nic.netif, this.nicOpts.vnetHdr));
        } catch (e) {
          await unplugNic(nic);
          throw e;
        }
      }
      const t0 = performance.now();
      this.shell.unplug();
      old.netif.flush();
      const txDrained = await waitTxDrained(old.adapter, TX_DRAIN_MS);
      // What already arrived on the old NIC goes up before it disappears.
      let drainedRx = 0;
      for (;;) {
        const n = old.netif.poll(64, (m) => this.stack.input(m));
        drainedRx += n;
        if (n < 64) break;
      }
      await unplugNic(old);
      nic ??= await plugNic(port, { ...this.nicOpts, mode });
      this.nic = nic;
      this.shell.plug(pluginOf(nic.netif, this.nicOpts.vnetHdr));
      const outageMs = performance.now() - t0;
      this.stack.announce();
      // The announcements and the backlog go out now rather than at the next turn.
      this.shell.flush();
      return { outageMs, drainedRx, txDrained };
    } finally {
      this.switching = false;
    }
  }

  /**
   * Stops the NIC: the driver detaches (PTCTL DELETE stops the host loop, a worker included), the
   * stack's timers stop. Sockets still open see no more traffic. The port is the caller's to close.
   */
  shutdown(): void {
    if (this.down) return;
    this.down = true;
    this.shell.unplug();
    this.netif.setEvents(null);
    // Gives the extra buffers back to the port (netmap frees them with it).
    this.netif.close();
    this.adapter.detach();
    for (const l of this.kloops) l.stop();
    (this.stack.time as Partial<RealTimeDriver>).stop?.();
    // Open sockets and servers held the process (node:net semantics) while there was a NIC.
    this.stack.releaseProcess();
  }

  /**
   * shutdown(), then resolves once every thread it started has exited: after `await close()` the
   * unikernel holds no handle, so a process with nothing else to do exits. The port stays open
   * (close it after, or declare it before the unikernel with `await using`). Idempotent.
   */
  async close(): Promise<void> {
    this.shutdown();
    await Promise.all(this.kloops.map((l) => l.closed()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Waits until the host consumed every TX slot the guest published (hwcur caught up with head). */
async function waitTxDrained(adapter: PtnetAdapter, limitMs: number): Promise<boolean> {
  const end = performance.now() + limitMs;
  for (;;) {
    let busy = false;
    for (const kr of adapter.krings) {
      if (!kr.tx) continue;
      kr.applRead();
      if (kr.hwcur !== kr.rhead) busy = true;
    }
    if (!busy) return true;
    if (performance.now() > end) return false;
    // Inline loops ran when kicked; a worker loop needs time: yield to it.
    await new Promise((r) => setTimeout(r, 1));
  }
}
