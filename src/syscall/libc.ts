// The one place that loads koffi and declares the libc functions tsbpf calls.
// Every other module reaches the kernel through the typed wrappers in this
// folder. Facts about koffi that shape these declarations:
//  - a fixed-arity twin of the variadic `syscall()` per signature is ~70 ns a
//    call, where the variadic form costs ~50 ns more per argument;
//  - a Buffer passed as `void *` goes in as its own pointer, no copy;
//  - `koffi.errno()` must be read on the very next line after the call.
import { ARCH } from '../uapi/arch.ts';
import { loadKoffi } from './koffi.ts';

const koffi = loadKoffi();

const libc = koffi.load('libc.so.6');

/** This architecture's syscall numbers (src/uapi/arch.ts; importing tsbpf on an unknown architecture throws). */
export const SYS_bpf = ARCH.SYS_bpf;
export const SYS_perf_event_open = ARCH.SYS_perf_event_open;

/** bpf(int cmd, union bpf_attr *attr, unsigned int size) */
export const sysBpf = libc.func('long syscall(long nr, int cmd, void *attr, uint32 size)') as (
  nr: number,
  cmd: number,
  attr: Uint8Array,
  size: number,
) => number;

/**
 * bpf() with the attr given by address: for hot paths that keep one attr
 * buffer alive and cache its address (saves koffi's buffer-to-pointer
 * conversion, ~50 ns a call).
 */
export const sysBpfAt = libc.func('long syscall(long nr, int cmd, intptr_t attr, uint32 size)') as (
  nr: number,
  cmd: number,
  attrAddress: number,
  size: number,
) => number;

/** perf_event_open(struct perf_event_attr *, pid_t, int cpu, int group_fd, unsigned long flags) */
export const sysPerfEventOpen = libc.func(
  'long syscall(long nr, void *attr, int pid, int cpu, int group_fd, unsigned long flags)',
) as (nr: number, attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number) => number;

export const libcClose = libc.func('int close(int fd)') as (fd: number) => number;
export const libcDup = libc.func('int fcntl(int fd, int cmd, int arg)') as (fd: number, cmd: number, arg: number) => number;

/** ioctl with an integer argument (PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, ...). */
export const libcIoctlInt = libc.func('int ioctl(int fd, unsigned long req, unsigned long arg)') as (
  fd: number,
  req: number,
  arg: number,
) => number;
/** ioctl with a pointer argument. */
export const libcIoctlPtr = libc.func('int ioctl(int fd, unsigned long req, void *arg)') as (
  fd: number,
  req: number,
  arg: Uint8Array,
) => number;

/** mmap returns the address as an int64 so that MAP_FAILED reads as -1. */
export const libcMmap = libc.func('int64 mmap(uint64 addr, size_t len, int prot, int flags, int fd, int64 off)') as (
  addr: number | bigint,
  len: number,
  prot: number,
  flags: number,
  fd: number,
  off: number,
) => number | bigint;
export const libcMunmap = libc.func('int munmap(uint64 addr, size_t len)') as (addr: number | bigint, len: number) => number;

/** read/write on a raw fd (used for iterator output and perf counters). */
export const libcRead = libc.func('long read(int fd, void *buf, size_t count)') as (
  fd: number,
  buf: Uint8Array,
  count: number,
) => number;

/**
 * read(2) with the destination as an address: only readFileRaw (file.ts) uses
 * it, which guarantees the address points into a live buffer with `count`
 * bytes of room (it saves a Uint8Array view per call on 1,350-read files).
 */
export const libcReadAt = libc.func('long read(int fd, uint64 buf, size_t count)') as (fd: number, addr: number, count: number) => number;
/** madvise(2), used to pre-fault readFileRaw's buffer. */
export const libcMadvise = libc.func('int madvise(uint64 addr, size_t len, int advice)') as (addr: number, len: number, advice: number) => number;

/** poll(struct pollfd *fds, nfds_t nfds, int timeout) */
export const libcPoll = libc.func('int poll(void *fds, uint64 nfds, int timeout)') as (
  fds: Uint8Array,
  nfds: number,
  timeoutMs: number,
) => number;

export const errno = (): number => koffi.errno();

/** The address of a buffer's first byte, as a bigint for `__u64` pointer fields. */
export function addressOf(buf: ArrayBufferView | ArrayBuffer): bigint {
  return koffi.address(buf) as bigint;
}

/** An ArrayBuffer over raw memory (no copy). */
export function viewOf(addr: number | bigint, len: number): ArrayBuffer {
  return koffi.view(addr as never, len) as ArrayBuffer;
}

/** koffi's libuv hook: watch an fd for readability on the main loop. */
export const nodePoll = (koffi as unknown as { node: { poll: Function } }).node.poll;

// ---------------------------------------------------------------- attach support (src/attach)

/**
 * close(2) on the libuv threadpool: `libcCloseAsync.async(fd, cb)`. Closing a
 * tracepoint/kprobe link sleeps in the kernel for RCU grace periods (tens of
 * ms) while using almost no CPU; running several closes on pool threads lets
 * their grace periods overlap instead of queueing one after another.
 */
export const libcCloseAsync = libc.func('int close(int fd)') as unknown as {
  async: (fd: number, cb: (err: unknown, ret: number) => void) => void;
};

/** mount(2): mount(source, target, fstype, flags, data) (used for tracefs and bpffs). */
export const libcMount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)') as (
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string | null,
) => number;

/** getpgid(2): a cheap syscall with its own tracepoint (syscalls/sys_enter_getpgid), for tests and benches. */
export const libcGetpgid = libc.func('int getpgid(int pid)') as (pid: number) => number;

// ---------------------------------------------------------------- waking a blocked thread (src/ringbuf/worker)

/** eventfd(initval, flags): a counter fd that a poll(2) on another thread can wait on. */
export const libcEventfd = libc.func('int eventfd(unsigned int initval, int flags)') as (initval: number, flags: number) => number;
/** write(2) from a buffer (an eventfd takes one 8-byte counter increment). */
export const libcWrite = libc.func('long write(int fd, void *buf, size_t count)') as (fd: number, buf: Uint8Array, count: number) => number;

// ---------------------------------------------------------------- thread scheduling (src/syscall/sched.ts)

export const libcGettid = libc.func('int gettid()') as () => number;
export const libcSetpriority = libc.func('int setpriority(int which, int who, int prio)') as (which: number, who: number, prio: number) => number;
/** `param` is struct sched_param: one int, the static priority. */
export const libcSchedSetscheduler = libc.func('int sched_setscheduler(int pid, int policy, int *param)') as (pid: number, policy: number, param: Int32Array) => number;
