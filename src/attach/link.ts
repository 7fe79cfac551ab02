// Links: the owned handles that keep a program attached. Destroying a link
// detaches its program. Each attach kind returns one of the subclasses below.
//
// What a destroy costs, measured on Linux 6.18 (facts.md, bench/detach.ts):
// closing a tracepoint link sleeps in close(2) for RCU grace periods (~25 ms
// each, ~0.6 ms CPU): one per link in perf_event_detach_bpf_prog (under
// bpf_event_mutex) when the BPF link goes, and one more in
// perf_trace_event_unreg (tracepoint_synchronize_unregister, under
// event_mutex) when the last perf event of a tracepoint goes. Both mutexes
// are global, so the sleeps of different links queue behind each other
// whatever user space does. Measured (medians of 9): 1 link 60 ms; 10 links
// on 10 tracepoints 643 ms closed one after another, 521 ms two at a time,
// 482 ms four at a time; 10 links of 10 programs on ONE tracepoint 222 ms two
// at a time (bench/detach.ts, links10_one_tp_vs_1): the per-link sleep alone
// is ~22 ms. BPF_LINK_DETACH is EOPNOTSUPP for perf links, and
// PERF_EVENT_IOC_DISABLE does not skip the synchronisation.
//
// Hence two variants: `destroy()` is synchronous (one link, or code that
// cannot await), `destroyAsync()`/`destroyLinks()` close on the libuv
// threadpool, at most `concurrency` at a time (default 2: enough to keep both
// kernel mutexes busy, leaving the other pool threads to fs/dns/crypto).
import createDebug from 'debug';
import { unlinkSync } from 'node:fs';
import { FD, LinkInfo, objGetInfo, objPin } from '../syscall/index.ts';
import { AttachError } from './errors.ts';
import { ASYNC_DISPOSE, DISPOSE } from '../util/dispose.ts';

const log = createDebug('tsbpf:attach');

/** enum bpf_link_type */
export enum BpfLinkType {
  BPF_LINK_TYPE_UNSPEC = 0,
  BPF_LINK_TYPE_RAW_TRACEPOINT = 1,
  BPF_LINK_TYPE_TRACING = 2,
  BPF_LINK_TYPE_CGROUP = 3,
  BPF_LINK_TYPE_ITER = 4,
  BPF_LINK_TYPE_NETNS = 5,
  BPF_LINK_TYPE_XDP = 6,
  BPF_LINK_TYPE_PERF_EVENT = 7,
  BPF_LINK_TYPE_KPROBE_MULTI = 8,
  BPF_LINK_TYPE_STRUCT_OPS = 9,
  BPF_LINK_TYPE_NETFILTER = 10,
  BPF_LINK_TYPE_TCX = 11,
  BPF_LINK_TYPE_UPROBE_MULTI = 12,
  BPF_LINK_TYPE_NETKIT = 13,
  BPF_LINK_TYPE_SOCKMAP = 14,
}

/** struct bpf_link_info, decoded: the common head and the first words of the per-type union. */
export interface LinkInfoDecoded {
  type: BpfLinkType;
  typeName: string;
  id: number;
  progId: number;
  /** xdp / tcx: the interface index. */
  ifindex?: number;
  /** cgroup: the cgroup id. */
  cgroupId?: bigint;
  /** tracing / cgroup / netns / tcx: the attach type. */
  attachType?: number;
  /** perf_event: enum bpf_perf_event_type (1 uprobe, 2 uretprobe, 3 kprobe, 4 kretprobe, 5 tracepoint, 6 event). */
  perfEventType?: number;
  /** The raw union words, for kinds not decoded here. */
  raw: bigint[];
}

/** What every program-ish argument of the attach functions needs: a name (for messages) and an fd. */
export interface AttachableProgram {
  readonly name: string;
  readonly fd: number;
}

/**
 * A live attachment. Owns one or more fds (closed in `closeOrder()` order)
 * and possibly a side effect to undo after they are closed (`cleanup()`).
 */
export abstract class Link {
  /** The attached program's name (for messages). */
  readonly program: string;
  /** What it is attached to, human readable ("tracepoint syscalls/sys_enter_getpgid"). */
  readonly target: string;
  #destroyed = false;
  #pinnedAt: string | undefined;

  protected constructor(program: string, target: string) {
    this.program = program;
    this.target = target;
  }

  /** The fds this link owns, in the order they must be closed. */
  protected abstract closeOrder(): FD[];

  /** Undo side effects once the fds are closed (tracefs events, legacy attachments). */
  protected cleanup(): void {}

  /** Detach before closing, when the kind needs it (legacy BPF_PROG_ATTACH). */
  protected detach(): void {}

  /** The primary fd: the BPF link fd, or the perf event fd of an ioctl attachment. */
  abstract get fd(): number;

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Where the link is pinned, if it is. */
  get pinnedAt(): string | undefined {
    return this.#pinnedAt;
  }

  /** Is this a BPF link (has a link id, can be pinned, has info)? */
  get isBpfLink(): boolean {
    return false;
  }

  /** Detach and release everything, synchronously. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    log('destroying %s', this);
    let first: unknown;
    try {
      this.detach();
    } catch (e) {
      first = e;
    }
    for (const fd of this.closeOrder()) fd.close();
    try {
      this.cleanup();
    } catch (e) {
      first ??= e;
    }
    if (first !== undefined) throw first;
  }

  /**
   * Detach and release everything, sleeping kernel closes done on the libuv
   * threadpool. Idempotent (a second call resolves at once).
   */
  async destroyAsync(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    log('destroying %s (async)', this);
    let first: unknown;
    try {
      this.detach();
    } catch (e) {
      first = e;
    }
    const fds = this.closeOrder();
    // All but the last close only drop a reference (the last fd holds the
    // others), so they are cheap and done here; the last one releases the
    // attachment and is the one that sleeps.
    for (const fd of fds.slice(0, -1)) fd.close();
    const last = fds[fds.length - 1];
    if (last) await last.closeAsync();
    try {
      this.cleanup();
    } catch (e) {
      first ??= e;
    }
    if (first !== undefined) throw first;
  }

  /** destroy(), under the name every owner has. */
  close(): void {
    this.destroy();
  }

  /** destroy(), for `using`. */
  [DISPOSE](): void {
    this.destroy();
  }

  /** destroyAsync(), for `await using`: closing a link sleeps in the kernel (RCU grace periods). */
  [ASYNC_DISPOSE](): Promise<void> {
    return this.destroyAsync();
  }

  /** Pin the link on bpffs (BPF links only). */
  pin(path: string): void {
    if (!this.isBpfLink)
      throw new AttachError(this.program, this.target, `cannot pin ${this.constructor.name}: it is not a BPF link (this kernel attached it with a perf ioctl or BPF_PROG_ATTACH)`);
    objPin(this.fd, path, `pinning link of program "${this.program}" (${this.target}) at ${path}`);
    this.#pinnedAt = path;
  }

  /** Remove the pin (the link stays attached while this object or another holder keeps it). */
  unpin(): void {
    if (this.#pinnedAt === undefined) return;
    unlinkSync(this.#pinnedAt);
    this.#pinnedAt = undefined;
  }

  /** BPF_OBJ_GET_INFO_BY_FD on the link, decoded (BPF links only). */
  info(): LinkInfoDecoded {
    if (!this.isBpfLink) throw new AttachError(this.program, this.target, `${this.constructor.name} is not a BPF link: it has no link info`);
    const s = objGetInfo(this.fd, LinkInfo, `reading info of the link of program "${this.program}" (${this.target})`);
    const type = s.get('type') as BpfLinkType;
    const raw = [s.get('union0'), s.get('union1'), s.get('union2'), s.get('union3'), s.get('union4'), s.get('union5')];
    const lo = (w: bigint) => Number(w & 0xffffffffn);
    const hi = (w: bigint) => Number(w >> 32n);
    const out: LinkInfoDecoded = { type, typeName: BpfLinkType[type] ?? `link type ${type}`, id: s.get('id'), progId: s.get('prog_id'), raw };
    switch (type) {
      case BpfLinkType.BPF_LINK_TYPE_XDP:
        out.ifindex = lo(raw[0]!);
        break;
      case BpfLinkType.BPF_LINK_TYPE_TCX:
      case BpfLinkType.BPF_LINK_TYPE_NETKIT:
        out.ifindex = lo(raw[0]!);
        out.attachType = hi(raw[0]!);
        break;
      case BpfLinkType.BPF_LINK_TYPE_CGROUP:
        out.cgroupId = raw[0]!;
        out.attachType = lo(raw[1]!);
        break;
      case BpfLinkType.BPF_LINK_TYPE_TRACING:
        out.attachType = lo(raw[0]!);
        break;
      case BpfLinkType.BPF_LINK_TYPE_NETNS:
        out.attachType = hi(raw[0]!);
        break;
      case BpfLinkType.BPF_LINK_TYPE_PERF_EVENT:
        out.perfEventType = lo(raw[0]!);
        break;
    }
    return out;
  }

  toString(): string {
    return `${this.constructor.name}(${this.program} -> ${this.target})`;
  }
}

/** A link created by BPF_LINK_CREATE (or BPF_RAW_TRACEPOINT_OPEN): one fd, closing it detaches. */
export class BpfLink extends Link {
  readonly #fd: FD;
  /** Extra fds owned alongside the link (e.g. a cgroup or netns fd opened by path), closed first. */
  readonly #extra: FD[];

  constructor(program: string, target: string, fd: FD, extra: FD[] = []) {
    super(program, target);
    this.#fd = fd;
    this.#extra = extra;
  }

  get fd(): number {
    return this.#fd.value;
  }

  override get isBpfLink(): boolean {
    return true;
  }

  protected closeOrder(): FD[] {
    return [...this.#extra, this.#fd];
  }
}

/** BPF_RAW_TRACEPOINT_OPEN links (raw_tp, and tp_btf/fentry/fexit/lsm attached by name null). */
export class RawTracepointLink extends BpfLink {}

/** BPF_LINK_CREATE links of tracing programs (fentry/fexit/fmod_ret/lsm/tp_btf with a cookie). */
export class TracingLink extends BpfLink {}

/** XDP, tcx, cgroup and netns links are plain BPF links too; subclasses only name them. */
export class XdpLink extends BpfLink {}
export class TcxLink extends BpfLink {}
export class CgroupLink extends BpfLink {}
export class NetnsLink extends BpfLink {}

/**
 * A program attached to a perf event (tracepoint, kprobe, uprobe, perf_event):
 * the perf event fd plus, where the kernel has them (5.15+), a BPF perf link
 * fd; otherwise the program was attached with PERF_EVENT_IOC_SET_BPF and the
 * perf fd alone holds the attachment.
 */
export class PerfEventLink extends Link {
  readonly #perf: FD;
  readonly #link: FD | undefined;

  constructor(program: string, target: string, perf: FD, link?: FD) {
    super(program, target);
    this.#perf = perf;
    this.#link = link;
  }

  /** The BPF link fd, or the perf event fd for an ioctl attachment. */
  get fd(): number {
    return (this.#link ?? this.#perf).value;
  }

  /** The perf event fd. */
  get perfFd(): number {
    return this.#perf.value;
  }

  override get isBpfLink(): boolean {
    return this.#link !== undefined;
  }

  // The BPF link holds a reference to the perf event's file: closing the perf
  // fd first only drops ours, and the link's release then detaches the
  // program and frees the event in one close.
  protected closeOrder(): FD[] {
    return this.#link ? [this.#perf, this.#link] : [this.#perf];
  }
}

/** A kprobe/uprobe created through tracefs (kprobe_events/uprobe_events): the event is removed on destroy. */
export class LegacyProbeLink extends PerfEventLink {
  readonly #remove: () => void;
  /** The tracefs event, "kprobes/tsbpf_1234_do_sys_openat2_0_0". */
  readonly event: string;

  constructor(program: string, target: string, perf: FD, link: FD | undefined, event: string, remove: () => void) {
    super(program, target, perf, link);
    this.event = event;
    this.#remove = remove;
  }

  protected override cleanup(): void {
    this.#remove();
  }
}
/** A legacy (tracefs) kprobe is a LegacyProbeLink. */
export { LegacyProbeLink as LegacyKprobeLink };

/** A cgroup (or other) attachment made with BPF_PROG_ATTACH: undone with BPF_PROG_DETACH. */
export class ProgAttachLink extends Link {
  readonly #target: FD;
  readonly #detach: () => void;
  readonly #owned: FD[];

  /** `owned` fds (e.g. our own duplicate of the program's fd, which detach needs) are closed after the target's. */
  constructor(program: string, target: string, targetFd: FD, detach: () => void, owned: FD[] = []) {
    super(program, target);
    this.#target = targetFd;
    this.#detach = detach;
    this.#owned = owned;
  }

  /** The attach target's fd (the cgroup). */
  get fd(): number {
    return this.#target.value;
  }

  protected override detach(): void {
    this.#detach();
  }

  protected closeOrder(): FD[] {
    return [this.#target, ...this.#owned];
  }
}

export interface DestroyLinksOptions {
  /**
   * How many sleeping closes run at once on the libuv threadpool (default 2).
   * The kernel admits one grace period per mutex at a time, and a tracepoint
   * close takes two mutexes in turn: 2 keeps both busy. 4 (the whole default
   * pool) measured ~8% faster for 10 links, while starving fs, dns and crypto.
   */
  concurrency?: number;
}

/**
 * Destroy many links concurrently. Resolves when every one is released;
 * rejects with the first error (an AggregateError when several failed) after
 * all were attempted. Already destroyed links are skipped.
 */
export async function destroyLinks(links: Iterable<Link>, opts: DestroyLinksOptions = {}): Promise<void> {
  const todo = [...links].filter((l) => !l.destroyed);
  const width = Math.max(1, Math.min(opts.concurrency ?? 2, todo.length));
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const link = todo[next++]!;
      try {
        await link.destroyAsync();
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} of ${todo.length} links failed to destroy`);
}
