// Program types and helpers: does the kernel load a program of this type,
// and does its verifier know this helper for this type? Each probe loads the
// smallest program that can answer (cilium/ebpf's features package does the
// same), and the answer is memoized.
import { TsbpfError, UsageError } from '../errors.ts';
import { BTF_KIND_FUNC, loadKernelBtf } from '../btf/index.ts';
import { BpfAttachType, BpfProgType, Program, ProgramLoadError, asm, encodeInsns, BPF_F_SLEEPABLE, type ProgramSpec } from '../prog/index.ts';
import { E2BIG, EINVAL, ENOTSUPP, EOPNOTSUPP } from '../syscall/index.ts';
import { cached, errnoOf } from './cache.ts';

const RETURN_0 = encodeInsns([asm.mov64Imm(0, 0), asm.exit()]);

/** What a program of `type` needs besides its instructions to load at all. */
function probeSpec(type: BpfProgType): Omit<ProgramSpec, 'insns'> {
  const spec: Omit<ProgramSpec, 'insns'> = { name: 'probe_prog', type, license: 'GPL' };
  const kernelFunc = (name: string) => {
    const id = loadKernelBtf().findByNameKind(name, BTF_KIND_FUNC);
    if (id <= 0) throw new TsbpfError(`probing ${BpfProgType[type]}: the kernel's BTF has no function ${name} to attach the probe to`);
    return id;
  };
  switch (type) {
    case BpfProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      return { ...spec, expectedAttachType: BpfAttachType.BPF_CGROUP_INET4_CONNECT };
    case BpfProgType.BPF_PROG_TYPE_CGROUP_SOCKOPT:
      return { ...spec, expectedAttachType: BpfAttachType.BPF_CGROUP_GETSOCKOPT };
    case BpfProgType.BPF_PROG_TYPE_SK_LOOKUP:
      return { ...spec, expectedAttachType: BpfAttachType.BPF_SK_LOOKUP };
    case BpfProgType.BPF_PROG_TYPE_NETFILTER:
      return { ...spec, expectedAttachType: BpfAttachType.BPF_NETFILTER };
    case BpfProgType.BPF_PROG_TYPE_SYSCALL:
      return { ...spec, flags: BPF_F_SLEEPABLE };
    case BpfProgType.BPF_PROG_TYPE_TRACING:
      return { ...spec, expectedAttachType: BpfAttachType.BPF_TRACE_FENTRY, attachBtfId: kernelFunc('bpf_fentry_test1') };
    case BpfProgType.BPF_PROG_TYPE_LSM:
      return { ...spec, expectedAttachType: BpfAttachType.BPF_LSM_MAC, attachBtfId: kernelFunc('bpf_lsm_file_mprotect') };
    case BpfProgType.BPF_PROG_TYPE_EXT:
    case BpfProgType.BPF_PROG_TYPE_STRUCT_OPS:
      throw new UsageError(`no load probe for ${BpfProgType[type]}: it needs a target program or struct_ops type to load against`);
    default:
      return spec;
  }
}

/** Does the kernel know errno `e` as "this is not supported" (rather than "you may not")? */
function meansMissing(e: number | undefined): boolean {
  return e === EINVAL || e === E2BIG || e === EOPNOTSUPP || e === ENOTSUPP;
}

/**
 * Can programs of `type` be loaded on this kernel? true or false; a refusal
 * that says nothing about support (EPERM: the machine's policy) is thrown.
 */
export function haveProgramType(type: BpfProgType): boolean {
  if (BpfProgType[type] === undefined) throw new UsageError(`haveProgramType: ${type} is not a BPF_PROG_TYPE_*`);
  return cached(`prog:${BpfProgType[type]}`, () => {
    try {
      Program.load({ ...probeSpec(type), insns: RETURN_0 }, { logLevel: 0 }).close();
      return true;
    } catch (e) {
      if (meansMissing(errnoOf(e))) return false;
      throw e;
    }
  });
}

/**
 * Does the verifier accept a call of helper `helperId` (BPF_FUNC_*) from a
 * program of `type`? The program calls it with whatever is in the argument
 * registers: the verifier checks the helper id before its arguments, so any
 * answer but "unknown/invalid func" or "cannot use helper" means the helper is there.
 */
export function haveHelper(type: BpfProgType, helperId: number): boolean {
  if (!Number.isInteger(helperId) || helperId <= 0) throw new UsageError(`haveHelper: ${helperId} is not a helper id (BPF_FUNC_*)`);
  return cached(`helper:${BpfProgType[type]}:${helperId}`, () => {
    if (!haveProgramType(type)) return false;
    const insns = encodeInsns([asm.call(helperId), asm.mov64Imm(0, 0), asm.exit()]);
    try {
      Program.load({ ...probeSpec(type), insns }, { logLevel: 1 }).close();
      return true;
    } catch (e) {
      if (e instanceof ProgramLoadError && /(?:invalid|unknown) func |program of this type cannot use helper /.test(e.log)) return false;
      if (e instanceof ProgramLoadError && errnoOf(e) === EINVAL) return true; // rejected for its arguments, not its id
      // The verifier got past the call's id and refused its arguments ("R1 type=ctx expected=map_ptr", EACCES).
      if (e instanceof ProgramLoadError && / call \w+#\d+\n/.test(e.log)) return true;
      throw e;
    }
  });
}
