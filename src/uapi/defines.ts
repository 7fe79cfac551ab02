// The kernel's #define constants tsbpf uses. A #define leaves no trace in BTF,
// so these cannot be generated like kernel.ts: they are written here once,
// with the header each comes from, and imported from here everywhere else.

// ---------------------------------------------------------------- include/uapi/linux/bpf_common.h, bpf.h: instructions

/** Instruction classes (code & 0x07). */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;
/** Load/store sizes. */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;
/** Load/store modes. */
export const BPF_IMM = 0x00;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;
/** Operand source: immediate or register. */
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** ALU and jump operations. */
export const BPF_ADD = 0x00;
export const BPF_MUL = 0x20;
export const BPF_RSH = 0x70;
export const BPF_MOD = 0x90;
export const BPF_MOV = 0xb0;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JNE = 0x50;
/** Atomic operations: imm = op | BPF_FETCH. */
export const BPF_FETCH = 0x01;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;

/** ld_imm64 src_reg values. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
/** call src_reg values. */
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

// ---------------------------------------------------------------- include/uapi/linux/bpf.h: command flags

/** BPF_PROG_LOAD prog_flags. */
export const BPF_F_STRICT_ALIGNMENT = 1 << 0;
export const BPF_F_ANY_ALIGNMENT = 1 << 1;
export const BPF_F_TEST_RND_HI32 = 1 << 2;
export const BPF_F_TEST_STATE_FREQ = 1 << 3;
export const BPF_F_SLEEPABLE = 1 << 4;
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;
export const BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6;

/** BPF_PROG_TEST_RUN flags. */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;

/** BPF_PROG_ATTACH / BPF_LINK_CREATE attach flags (cgroup, then mprog: tcx, netkit). */
export const BPF_F_ALLOW_OVERRIDE = 1 << 0;
export const BPF_F_ALLOW_MULTI = 1 << 1;
export const BPF_F_REPLACE = 1 << 2;
export const BPF_F_BEFORE = 1 << 3;
export const BPF_F_AFTER = 1 << 4;
export const BPF_F_ID = 1 << 5;
// BPF_F_LINK (1 << 13) is also an enumerator of the map flags enum: see kernel.ts

// ---------------------------------------------------------------- include/uapi/linux/if_link.h

/** XDP attach flags. */
export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
export const XDP_FLAGS_SKB_MODE = 1 << 1;
export const XDP_FLAGS_DRV_MODE = 1 << 2;
export const XDP_FLAGS_HW_MODE = 1 << 3;

// ---------------------------------------------------------------- include/uapi/linux/perf_event.h

export const PERF_FLAG_FD_CLOEXEC = 1 << 3;
/** _IO('$', 0), _IO('$', 1), _IO('$', 3), _IOW('$', 8, __u32) */
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_RESET = 0x2403;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;

// ---------------------------------------------------------------- asm-generic/mman*.h, fcntl.h, poll.h (same on x86_64 and arm64)

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MADV_POPULATE_WRITE = 23;
export const F_DUPFD_CLOEXEC = 1030;
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

// ---------------------------------------------------------------- include/uapi/linux/eventfd.h (asm-generic/fcntl.h values)

/** eventfd(2) flags (the O_CLOEXEC and O_NONBLOCK values). */
export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

// ---------------------------------------------------------------- include/uapi/linux/resource.h, sched.h

/** setpriority(2) `which`: a process id (on Linux, a thread id names that one thread). */
export const PRIO_PROCESS = 0;
/** sched_setscheduler(2) policies. */
export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
