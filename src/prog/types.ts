// enum bpf_prog_type, enum bpf_attach_type and BPF_PROG_LOAD flags, with the
// kernel's names: from src/uapi (the enums generated from the kernel's BTF,
// the flags from its #defines).
export { BpfProgType, BpfAttachType, SIZEOF_BPF_INSN as BPF_INSN_SIZE } from '../uapi/kernel.ts';
export {
  BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT, BPF_F_TEST_RND_HI32, BPF_F_TEST_STATE_FREQ, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS,
  BPF_F_XDP_DEV_BOUND_ONLY, BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES,
} from '../uapi/defines.ts';
