// Probes of what the running kernel accepts, one bpf() call each, as
// `bpftool feature probe` makes them: a trivial program of each program type,
// a minimal map of each map type, a program of each type calling each helper.
// The names come from the kernel's own BTF (enum bpf_prog_type, bpf_map_type,
// bpf_func_id, bpf_link_type), so a kernel newer than this code is probed for
// everything it declares. Nothing is memoized here: callers probe once.
//
// A probe answers 'yes', 'no', or 'refused' (the kernel knows the feature but
// its policy or our privileges say no: EPERM/EACCES, as for fentry on the
// project's CI machine).
import { BTF_INT_SIGNED, BTF_KIND_ENUM, BTF_KIND_INT, BtfBuilder, type BtfEnum, loadKernelBtf, type Btf } from '../btf/index.ts';
import { loadBtfIntoKernel } from '../btf/load.ts';
import { BPF_F_SLEEPABLE, BpfAttachType, asm, encodeInsns } from '../prog/index.ts';
import { BPF_F_MMAPABLE, BPF_F_NO_PREALLOC } from '../uapi/kernel.ts';
import { PAGE_SIZE } from '../uapi/arch.ts';
import { BpfCmd, bpfRaw, EACCES, EPERM, errnoName, FD, MapCreateAttr, ProgLoadAttr, progLoadRaw } from '../syscall/index.ts';

export type ProbeAnswer = 'yes' | 'no' | 'refused';
export interface ProbeResult {
  name: string;
  value: number;
  answer: ProbeAnswer;
  /** The errno (name) behind a 'no' or 'refused'. */
  detail?: string;
}


/** The enumerators of a kernel enum ("bpf_prog_type") without its prefix and the __MAX_* sentinel. */
export function kernelEnum(name: string, prefix: string, btf: Btf = loadKernelBtf()): { name: string; value: number }[] {
  const ids = btf.findByName(name, BTF_KIND_ENUM);
  if (!ids.length) return [];
  const t = btf.type(ids[0]!) as BtfEnum;
  return t.values
    .filter((v) => v.name.startsWith(prefix) && !v.name.startsWith('__') && !v.name.includes('MAX') && !v.name.endsWith('_DEPRECATED'))
    .map((v) => ({ name: v.name.slice(prefix.length).toLowerCase(), value: v.value }));
}

// r0 = 0; exit
const RET0 = encodeInsns([asm.mov64Imm(0, 0), asm.exit()]);
const LICENSE = Buffer.from('GPL\0');

/** Attach types some program types must name at load (enum bpf_attach_type values). */
const EXPECTED_ATTACH: Record<string, number> = {
  cgroup_sock_addr: BpfAttachType.BPF_CGROUP_INET4_BIND,
  sk_lookup: BpfAttachType.BPF_SK_LOOKUP,
  tracing: BpfAttachType.BPF_TRACE_FENTRY,
  lsm: BpfAttachType.BPF_LSM_MAC,
  netfilter: BpfAttachType.BPF_NETFILTER,
  cgroup_sockopt: BpfAttachType.BPF_CGROUP_GETSOCKOPT,
  lirc_mode2: BpfAttachType.BPF_LIRC_MODE2,
};
/** Program types the kernel accepts only as sleepable (BPF_F_SLEEPABLE). */
const SLEEPABLE_ONLY = new Set(['syscall']);
/** Program types that need a BTF target: probed with attach_btf_id 1, and known when the kernel complains about that id. */
const NEEDS_BTF_TARGET = new Set(['tracing', 'ext', 'lsm', 'struct_ops']);

function loadProbe(progType: number, insns: Uint8Array, expectedAttach: number, attachBtfId: number, log: Buffer | null, flags = 0): { ok: boolean; errno: number } {
  const attr = ProgLoadAttr.create({
    prog_type: progType, insn_cnt: insns.length / 8, insns, license: LICENSE, expected_attach_type: expectedAttach, attach_btf_id: attachBtfId, prog_flags: flags,
    ...(log ? { log_level: 1, log_size: log.length, log_buf: log } : {}),
  });
  const r = progLoadRaw(attr);
  if (r.ret >= 0) {
    new FD(r.ret, 'feature probe program').close();
    return { ok: true, errno: 0 };
  }
  return { ok: false, errno: r.errno };
}

/** Can a trivial program of this type be loaded? */
export function probeProgType(name: string, value: number): ProbeResult {
  const needsTarget = NEEDS_BTF_TARGET.has(name);
  const log = needsTarget ? Buffer.alloc(4096) : null;
  const r = loadProbe(value, RET0, EXPECTED_ATTACH[name] ?? 0, needsTarget ? 1 : 0, log, SLEEPABLE_ONLY.has(name) ? BPF_F_SLEEPABLE : 0);
  if (r.ok) return { name, value, answer: 'yes' };
  if (r.errno === EPERM || r.errno === EACCES) return { name, value, answer: 'refused', detail: errnoName(r.errno) };
  // A kernel that knows the type got as far as checking the (deliberately wrong) BTF target.
  if (needsTarget && log && /attach_btf_id|is not a function|Unknown attach|not a struct|BTF/i.test(log.toString('utf8'))) return { name, value, answer: 'yes' };
  return { name, value, answer: 'no', detail: errnoName(r.errno) };
}

/** Does programs of type `progType` may call helper `helperId` (the verifier does not say "unknown func")? */
export function probeHelper(progType: { name: string; value: number }, helper: { name: string; value: number }): boolean {
  // call helper; r0 = 0; exit
  const insns = new Uint8Array(24);
  insns.set(encodeInsns([asm.call(helper.value)]), 0);
  insns.set(RET0, 8);
  const log = Buffer.alloc(4096);
  const r = loadProbe(progType.value, insns, EXPECTED_ATTACH[progType.name] ?? 0, 0, log, SLEEPABLE_ONLY.has(progType.name) ? BPF_F_SLEEPABLE : 0);
  if (r.ok) return true;
  const text = log.toString('utf8');
  if (!text.replace(/\0+$/, '')) return false;
  return !/invalid func |unknown func |program of this type cannot use helper/.test(text);
}

/** A BTF with `int` (type 1), for the map types that need BTF (local storage). */
function intBtf(): FD {
  const b = new BtfBuilder();
  b.add({ kind: BTF_KIND_INT, name: 'int', size: 4, encoding: BTF_INT_SIGNED, bitOffset: 0, bits: 32 });
  return loadBtfIntoKernel(b.marshal(), 'feature probe BTF');
}

/** key, value, max_entries, flags for a minimal map of each type (the kernel checks these per type). */
function mapShape(name: string): { key: number; value: number; max: number; flags: number; btf?: boolean; inner?: boolean } {
  switch (name) {
    case 'queue': case 'stack': case 'bloom_filter': return { key: 0, value: 4, max: 1, flags: 0 };
    case 'ringbuf': case 'user_ringbuf': return { key: 0, value: 0, max: PAGE_SIZE, flags: 0 };
    case 'lpm_trie': return { key: 8, value: 4, max: 1, flags: BPF_F_NO_PREALLOC };
    case 'stack_trace': return { key: 4, value: 8, max: 1, flags: 0 };
    case 'cgroup_storage': case 'percpu_cgroup_storage': return { key: 16, value: 4, max: 0, flags: 0 };
    case 'sk_storage': case 'inode_storage': case 'task_storage': case 'cgrp_storage': return { key: 4, value: 4, max: 0, flags: BPF_F_NO_PREALLOC, btf: true };
    case 'array_of_maps': case 'hash_of_maps': return { key: 4, value: 4, max: 1, flags: 0, inner: true };
    case 'arena': return { key: 0, value: 0, max: 1, flags: BPF_F_MMAPABLE };
    case 'reuseport_sockarray': return { key: 4, value: 8, max: 1, flags: 0 };
    default: return { key: 4, value: 4, max: 1, flags: 0 };
  }
}

function createMap(type: number, s: ReturnType<typeof mapShape>, btfFd: number, innerFd: number): { fd: number; errno: number } {
  const attr = MapCreateAttr.create({
    map_type: type, key_size: s.key, value_size: s.value, max_entries: s.max, map_flags: s.flags, inner_map_fd: innerFd,
    ...(s.btf ? { btf_fd: btfFd, btf_key_type_id: 1, btf_value_type_id: 1 } : {}),
  });
  const r = bpfRaw(BpfCmd.BPF_MAP_CREATE, attr);
  return { fd: r.ret, errno: r.errno };
}

/** Can a minimal map of this type be created? */
export function probeMapType(name: string, value: number): ProbeResult {
  const s = mapShape(name);
  const owned: FD[] = [];
  try {
    let btfFd = 0;
    let innerFd = 0;
    if (s.btf) {
      const f = intBtf();
      owned.push(f);
      btfFd = f.value;
    }
    if (s.inner) {
      const r = createMap(2 /* BPF_MAP_TYPE_ARRAY */, { key: 4, value: 4, max: 1, flags: 0 }, 0, 0);
      if (r.fd >= 0) {
        const f = new FD(r.fd, 'feature probe inner map');
        owned.push(f);
        innerFd = f.value;
      }
    }
    const r = createMap(value, s, btfFd, innerFd);
    if (r.fd >= 0) {
      owned.push(new FD(r.fd, 'feature probe map'));
      return { name, value, answer: 'yes' };
    }
    if (r.errno === EPERM || r.errno === EACCES) return { name, value, answer: 'refused', detail: errnoName(r.errno) };
    // struct_ops needs a kernel struct to implement; EINVAL from its checks still means "known".
    return { name, value, answer: 'no', detail: errnoName(r.errno) };
  } finally {
    for (const f of owned) f.close();
  }
}

