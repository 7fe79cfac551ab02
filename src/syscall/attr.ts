// Every `union bpf_attr` variant tsbpf uses, and the info structs the kernel
// fills, as typed layouts (offsets from include/uapi/linux/bpf.h). Each
// variant's size is `offsetofend` of its last field we use: the kernel accepts
// any size up to its own sizeof(union bpf_attr), and requires the bytes past
// what it knows to be zero.
import { Layout, bytes, chars, ptr, s32, u32, u64 } from './layout.ts';

/** enum bpf_cmd */
export enum BpfCmd {
  BPF_MAP_CREATE = 0,
  BPF_MAP_LOOKUP_ELEM = 1,
  BPF_MAP_UPDATE_ELEM = 2,
  BPF_MAP_DELETE_ELEM = 3,
  BPF_MAP_GET_NEXT_KEY = 4,
  BPF_PROG_LOAD = 5,
  BPF_OBJ_PIN = 6,
  BPF_OBJ_GET = 7,
  BPF_PROG_ATTACH = 8,
  BPF_PROG_DETACH = 9,
  BPF_PROG_TEST_RUN = 10,
  BPF_PROG_GET_NEXT_ID = 11,
  BPF_MAP_GET_NEXT_ID = 12,
  BPF_PROG_GET_FD_BY_ID = 13,
  BPF_MAP_GET_FD_BY_ID = 14,
  BPF_OBJ_GET_INFO_BY_FD = 15,
  BPF_PROG_QUERY = 16,
  BPF_RAW_TRACEPOINT_OPEN = 17,
  BPF_BTF_LOAD = 18,
  BPF_BTF_GET_FD_BY_ID = 19,
  BPF_TASK_FD_QUERY = 20,
  BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21,
  BPF_MAP_FREEZE = 22,
  BPF_BTF_GET_NEXT_ID = 23,
  BPF_MAP_LOOKUP_BATCH = 24,
  BPF_MAP_LOOKUP_AND_DELETE_BATCH = 25,
  BPF_MAP_UPDATE_BATCH = 26,
  BPF_MAP_DELETE_BATCH = 27,
  BPF_LINK_CREATE = 28,
  BPF_LINK_UPDATE = 29,
  BPF_LINK_GET_FD_BY_ID = 30,
  BPF_LINK_GET_NEXT_ID = 31,
  BPF_ENABLE_STATS = 32,
  BPF_ITER_CREATE = 33,
  BPF_LINK_DETACH = 34,
  BPF_PROG_BIND_MAP = 35,
  BPF_TOKEN_CREATE = 36,
}

/** BPF_MAP_CREATE */
export const MapCreateAttr = new Layout('bpf_attr(BPF_MAP_CREATE)', 80, {
  map_type: u32(0),
  key_size: u32(4),
  value_size: u32(8),
  max_entries: u32(12),
  map_flags: u32(16),
  inner_map_fd: u32(20),
  numa_node: u32(24),
  map_name: chars(28, 16),
  map_ifindex: u32(44),
  btf_fd: u32(48),
  btf_key_type_id: u32(52),
  btf_value_type_id: u32(56),
  btf_vmlinux_value_type_id: u32(60),
  map_extra: u64(64),
  value_type_btf_obj_fd: s32(72),
  map_token_fd: s32(76),
});

/** BPF_MAP_{LOOKUP,UPDATE,DELETE,LOOKUP_AND_DELETE}_ELEM and BPF_MAP_GET_NEXT_KEY */
export const MapElemAttr = new Layout('bpf_attr(BPF_MAP_*_ELEM)', 32, {
  map_fd: u32(0),
  key: ptr(8),
  /** `value` for lookup/update, `next_key` for BPF_MAP_GET_NEXT_KEY */
  value: ptr(16),
  flags: u64(24),
});

/** BPF_MAP_*_BATCH */
export const MapBatchAttr = new Layout('bpf_attr(BPF_MAP_*_BATCH)', 56, {
  in_batch: ptr(0),
  out_batch: ptr(8),
  keys: ptr(16),
  values: ptr(24),
  count: u32(32),
  map_fd: u32(36),
  elem_flags: u64(40),
  flags: u64(48),
});

/** BPF_PROG_LOAD */
export const ProgLoadAttr = new Layout('bpf_attr(BPF_PROG_LOAD)', 148, {
  prog_type: u32(0),
  insn_cnt: u32(4),
  insns: ptr(8),
  license: ptr(16),
  log_level: u32(24),
  log_size: u32(28),
  log_buf: ptr(32),
  kern_version: u32(40),
  prog_flags: u32(44),
  prog_name: chars(48, 16),
  prog_ifindex: u32(64),
  expected_attach_type: u32(68),
  prog_btf_fd: u32(72),
  func_info_rec_size: u32(76),
  func_info: ptr(80),
  func_info_cnt: u32(88),
  line_info_rec_size: u32(92),
  line_info: ptr(96),
  line_info_cnt: u32(104),
  attach_btf_id: u32(108),
  /** attach_prog_fd for freplace/fentry-on-BPF, attach_btf_obj_fd for module BTF */
  attach_btf_obj_fd: u32(112),
  core_relo_cnt: u32(116),
  fd_array: ptr(120),
  core_relos: ptr(128),
  core_relo_rec_size: u32(136),
  /** Written by the kernel (5.x+ / 6.4+): the log size that would have been needed. */
  log_true_size: u32(140),
  /** A BPF token (6.9+), with BPF_F_TOKEN_FD in prog_flags. */
  prog_token_fd: s32(144),
});

/** BPF_OBJ_PIN / BPF_OBJ_GET */
export const ObjPinAttr = new Layout('bpf_attr(BPF_OBJ_PIN)', 16, {
  pathname: ptr(0),
  bpf_fd: u32(8),
  file_flags: u32(12),
});

/** BPF_PROG_ATTACH / BPF_PROG_DETACH (legacy cgroup/sockmap attach) */
export const ProgAttachAttr = new Layout('bpf_attr(BPF_PROG_ATTACH)', 20, {
  target_fd: u32(0),
  attach_bpf_fd: u32(4),
  attach_type: u32(8),
  attach_flags: u32(12),
  replace_bpf_fd: u32(16),
});

/** BPF_PROG_TEST_RUN */
export const ProgTestRunAttr = new Layout('bpf_attr(BPF_PROG_TEST_RUN)', 76, {
  prog_fd: u32(0),
  retval: u32(4),
  data_size_in: u32(8),
  data_size_out: u32(12),
  data_in: ptr(16),
  data_out: ptr(24),
  repeat: u32(32),
  duration: u32(36),
  ctx_size_in: u32(40),
  ctx_size_out: u32(44),
  ctx_in: ptr(48),
  ctx_out: ptr(56),
  flags: u32(64),
  cpu: u32(68),
  batch_size: u32(72),
});

/** BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID */
export const GetIdAttr = new Layout('bpf_attr(BPF_*_GET_NEXT_ID)', 12, {
  /** start_id for GET_NEXT_ID; prog_id/map_id/btf_id/link_id for GET_FD_BY_ID */
  id: u32(0),
  next_id: u32(4),
  open_flags: u32(8),
});

/** BPF_OBJ_GET_INFO_BY_FD */
export const ObjInfoAttr = new Layout('bpf_attr(BPF_OBJ_GET_INFO_BY_FD)', 16, {
  bpf_fd: u32(0),
  info_len: u32(4),
  info: ptr(8),
});

/** BPF_RAW_TRACEPOINT_OPEN */
export const RawTracepointOpenAttr = new Layout('bpf_attr(BPF_RAW_TRACEPOINT_OPEN)', 16, {
  name: ptr(0),
  prog_fd: u32(8),
});

/** BPF_RAW_TRACEPOINT_OPEN with a cookie (6.10+) */
export const RawTracepointOpenCookieAttr = new Layout('bpf_attr(BPF_RAW_TRACEPOINT_OPEN)', 24, {
  name: ptr(0),
  prog_fd: u32(8),
  cookie: u64(16),
});

/** BPF_BTF_LOAD */
export const BtfLoadAttr = new Layout('bpf_attr(BPF_BTF_LOAD)', 40, {
  btf: ptr(0),
  btf_log_buf: ptr(8),
  btf_size: u32(16),
  btf_log_size: u32(20),
  btf_log_level: u32(24),
  btf_log_true_size: u32(28),
  /** BPF_F_TOKEN_FD when btf_token_fd is set (6.9+). */
  btf_flags: u32(32),
  btf_token_fd: s32(36),
});

/** BPF_TOKEN_CREATE (6.9+): a token from a bpffs mounted with delegate_* options. */
export const TokenCreateAttr = new Layout('bpf_attr(BPF_TOKEN_CREATE)', 8, {
  flags: u32(0),
  bpffs_fd: u32(4),
});

/** BPF_MAP_FREEZE, BPF_LINK_DETACH, BPF_ITER_CREATE: one fd (+ flags) */
export const FdOnlyAttr = new Layout('bpf_attr(fd)', 8, {
  fd: u32(0),
  flags: u32(4),
});

/** BPF_LINK_UPDATE */
export const LinkUpdateAttr = new Layout('bpf_attr(BPF_LINK_UPDATE)', 16, {
  link_fd: u32(0),
  new_prog_fd: u32(4),
  flags: u32(8),
  old_prog_fd: u32(12),
});

/**
 * BPF_LINK_CREATE. The tail (offset 16 on) is a union per link kind; the
 * fields below name each member we use at its offset.
 */
export const LinkCreateAttr = new Layout('bpf_attr(BPF_LINK_CREATE)', 64, {
  prog_fd: u32(0),
  /** target_fd (cgroup fd, netns fd, perf event fd) or target_ifindex */
  target_fd: u32(4),
  attach_type: u32(8),
  flags: u32(12),
  // union member: target_btf_id (freplace, fentry on a BPF program, iter without info)
  target_btf_id: u32(16),
  // union member: iter_info / iter_info_len
  iter_info: ptr(16),
  iter_info_len: u32(24),
  // union member: perf_event.bpf_cookie
  perf_event_bpf_cookie: u64(16),
  // union member: kprobe_multi
  kprobe_multi_flags: u32(16),
  kprobe_multi_cnt: u32(20),
  kprobe_multi_syms: ptr(24),
  kprobe_multi_addrs: ptr(32),
  kprobe_multi_cookies: ptr(40),
  // union member: tracing { target_btf_id; cookie }
  tracing_cookie: u64(24),
  // union member: tcx / netkit { relative_fd|relative_id; expected_revision }
  tcx_relative_fd: u32(16),
  tcx_expected_revision: u64(24),
  // union member: uprobe_multi
  uprobe_multi_path: ptr(16),
  uprobe_multi_offsets: ptr(24),
  uprobe_multi_ref_ctr_offsets: ptr(32),
  uprobe_multi_cookies: ptr(40),
  uprobe_multi_cnt: u32(48),
  uprobe_multi_flags: u32(52),
  uprobe_multi_pid: u32(56),
});

/** struct bpf_prog_info */
export const ProgInfo = new Layout('bpf_prog_info', 232, {
  type: u32(0),
  id: u32(4),
  tag: bytes(8, 8),
  jited_prog_len: u32(16),
  xlated_prog_len: u32(20),
  jited_prog_insns: ptr(24),
  xlated_prog_insns: ptr(32),
  load_time: u64(40),
  created_by_uid: u32(48),
  nr_map_ids: u32(52),
  map_ids: ptr(56),
  name: chars(64, 16),
  ifindex: u32(80),
  gpl_compatible: u32(84),
  netns_dev: u64(88),
  netns_ino: u64(96),
  nr_jited_ksyms: u32(104),
  nr_jited_func_lens: u32(108),
  jited_ksyms: ptr(112),
  jited_func_lens: ptr(120),
  btf_id: u32(128),
  func_info_rec_size: u32(132),
  func_info: ptr(136),
  nr_func_info: u32(144),
  nr_line_info: u32(148),
  line_info: ptr(152),
  jited_line_info: ptr(160),
  nr_jited_line_info: u32(168),
  line_info_rec_size: u32(172),
  jited_line_info_rec_size: u32(176),
  nr_prog_tags: u32(180),
  prog_tags: ptr(184),
  run_time_ns: u64(192),
  run_cnt: u64(200),
  recursion_misses: u64(208),
  verified_insns: u32(216),
  attach_btf_obj_id: u32(220),
  attach_btf_id: u32(224),
});

/** struct bpf_map_info */
export const MapInfo = new Layout('bpf_map_info', 88, {
  type: u32(0),
  id: u32(4),
  key_size: u32(8),
  value_size: u32(12),
  max_entries: u32(16),
  map_flags: u32(20),
  name: chars(24, 16),
  ifindex: u32(40),
  btf_vmlinux_value_type_id: u32(44),
  netns_dev: u64(48),
  netns_ino: u64(56),
  btf_id: u32(64),
  btf_key_type_id: u32(68),
  btf_value_type_id: u32(72),
  btf_vmlinux_id: u32(76),
  map_extra: u64(80),
});

/** struct bpf_btf_info */
export const BtfInfo = new Layout('bpf_btf_info', 32, {
  btf: ptr(0),
  btf_size: u32(8),
  id: u32(12),
  name: ptr(16),
  name_len: u32(24),
  kernel_btf: u32(28),
});

/** struct bpf_link_info: the common head plus the raw union for per-kind decoding. */
export const LinkInfo = new Layout('bpf_link_info', 64, {
  type: u32(0),
  id: u32(4),
  prog_id: u32(8),
  // union, first words: raw_tracepoint.tp_name (ptr) / tracing.attach_type / cgroup.cgroup_id / netns / xdp.ifindex / perf_event.type
  union0: u64(16),
  union1: u64(24),
  union2: u64(32),
  union3: u64(40),
  union4: u64(48),
  union5: u64(56),
});
