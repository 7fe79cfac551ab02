// What scripts/gen_uapi.ts takes from the pinned kernel's BTF: the enums, the
// anonymous flag enums (found by one of their enumerators), and the structs
// whose layouts src/syscall declares. Edit this list, then `npm run gen:uapi`
// (and `npm run gen:uapi -- --extract <vmlinux>` when a new root type is
// needed: the committed blob holds only the types reachable from these roots).

/** A named enum, emitted as a TypeScript enum under the project's (libbpf-style) name. */
export interface EnumSpec {
  btf: string;
  ts: string;
  doc: string;
  /** Enumerators newer than the pinned kernel: [name, value, first kernel]. */
  newer?: [string, number, string][];
}

export const ENUMS: EnumSpec[] = [
  { btf: 'bpf_cmd', ts: 'BpfCmd', doc: 'enum bpf_cmd: the bpf(2) commands' },
  { btf: 'bpf_map_type', ts: 'MapType', doc: 'enum bpf_map_type' },
  { btf: 'bpf_prog_type', ts: 'BpfProgType', doc: 'enum bpf_prog_type' },
  {
    btf: 'bpf_attach_type',
    ts: 'BpfAttachType',
    doc: 'enum bpf_attach_type',
    newer: [['BPF_TRACE_UPROBE_SESSION', 57, '6.13']],
  },
  { btf: 'bpf_link_type', ts: 'BpfLinkType', doc: 'enum bpf_link_type' },
  { btf: 'bpf_perf_event_type', ts: 'BpfPerfEventType', doc: 'enum bpf_perf_event_type: what a perf_event link is attached to (bpf_link_info)' },
  { btf: 'bpf_stats_type', ts: 'BpfStatsType', doc: 'enum bpf_stats_type (BPF_ENABLE_STATS)' },
  { btf: 'bpf_core_relo_kind', ts: 'BpfCoreReloKind', doc: 'enum bpf_core_relo_kind: CO-RE relocation kinds (.BTF.ext)' },
  { btf: 'bpf_func_id', ts: 'BpfFuncId', doc: 'enum bpf_func_id: helper function ids (BPF_FUNC_*)' },
  { btf: 'perf_type_id', ts: 'PerfTypeId', doc: 'enum perf_type_id: perf_event_attr.type' },
  { btf: 'perf_sw_ids', ts: 'PerfSwIds', doc: 'enum perf_sw_ids: perf_event_attr.config of PERF_TYPE_SOFTWARE' },
  { btf: 'perf_event_type', ts: 'PerfEventType', doc: 'enum perf_event_type: perf ring record types (PERF_RECORD_*)' },
  { btf: 'perf_event_sample_format', ts: 'PerfEventSampleFormat', doc: 'enum perf_event_sample_format: perf_event_attr.sample_type bits' },
];

/** Anonymous enums, found by one enumerator; every enumerator becomes an exported const. */
export const CONST_ENUMS: { member: string; doc: string }[] = [
  { member: 'BPF_ANY', doc: 'BPF_MAP_UPDATE_ELEM flags' },
  { member: 'BPF_F_NO_PREALLOC', doc: 'BPF_MAP_CREATE map_flags' },
  { member: 'BPF_F_INGRESS', doc: 'bpf_redirect_map / bpf_clone_redirect flags' },
  { member: 'BPF_RINGBUF_BUSY_BIT', doc: 'BPF ring buffer record header bits' },
  { member: 'BPF_F_KPROBE_MULTI_RETURN', doc: 'BPF_LINK_CREATE kprobe_multi.flags' },
  { member: 'BPF_F_UPROBE_MULTI_RETURN', doc: 'BPF_LINK_CREATE uprobe_multi.flags' },
];

/**
 * A struct layout: `variant` picks a member of a union (by name, or the
 * anonymous struct holding field `anonWith`); `fields` maps the project's
 * field name to a C path inside it ("kprobe_multi.flags"), or to
 * [path, kind] for a bitfield read as its whole word. Size: the end of the
 * last field listed (the kernel takes any attr size up to its own and wants
 * the bytes past what it knows zeroed); `roundTo` rounds it up.
 */
export interface LayoutSpec {
  ts: string;
  title: string;
  struct: string;
  variant?: { member: string } | { anonWith: string };
  fields: Record<string, string | [string, 'u32' | 'flags64']>;
  /** The 8-byte fields that carry a user-space address (BTF cannot tell them from values: both are __u64). */
  ptrs?: string[];
  roundTo?: number;
}

export const LAYOUTS: LayoutSpec[] = [
  {
    ts: 'MAP_CREATE_ATTR', title: 'bpf_attr(BPF_MAP_CREATE)', struct: 'bpf_attr', variant: { anonWith: 'map_type' },
    fields: {
      map_type: 'map_type', key_size: 'key_size', value_size: 'value_size', max_entries: 'max_entries', map_flags: 'map_flags',
      inner_map_fd: 'inner_map_fd', numa_node: 'numa_node', map_name: 'map_name', map_ifindex: 'map_ifindex', btf_fd: 'btf_fd',
      btf_key_type_id: 'btf_key_type_id', btf_value_type_id: 'btf_value_type_id', btf_vmlinux_value_type_id: 'btf_vmlinux_value_type_id',
      map_extra: 'map_extra', value_type_btf_obj_fd: 'value_type_btf_obj_fd', map_token_fd: 'map_token_fd',
    },
  },
  {
    ts: 'MAP_ELEM_ATTR', ptrs: ['key', 'value'], title: 'bpf_attr(BPF_MAP_*_ELEM)', struct: 'bpf_attr', variant: { anonWith: 'next_key' },
    fields: { map_fd: 'map_fd', key: 'key', value: 'value', flags: 'flags' },
  },
  {
    ts: 'MAP_BATCH_ATTR', ptrs: ['in_batch', 'out_batch', 'keys', 'values'], title: 'bpf_attr(BPF_MAP_*_BATCH)', struct: 'bpf_attr', variant: { member: 'batch' },
    fields: { in_batch: 'in_batch', out_batch: 'out_batch', keys: 'keys', values: 'values', count: 'count', map_fd: 'map_fd', elem_flags: 'elem_flags', flags: 'flags' },
  },
  {
    ts: 'PROG_LOAD_ATTR', ptrs: ['insns', 'license', 'log_buf', 'func_info', 'line_info', 'fd_array', 'core_relos'], title: 'bpf_attr(BPF_PROG_LOAD)', struct: 'bpf_attr', variant: { anonWith: 'prog_type' },
    fields: {
      prog_type: 'prog_type', insn_cnt: 'insn_cnt', insns: 'insns', license: 'license', log_level: 'log_level', log_size: 'log_size',
      log_buf: 'log_buf', kern_version: 'kern_version', prog_flags: 'prog_flags', prog_name: 'prog_name', prog_ifindex: 'prog_ifindex',
      expected_attach_type: 'expected_attach_type', prog_btf_fd: 'prog_btf_fd', func_info_rec_size: 'func_info_rec_size',
      func_info: 'func_info', func_info_cnt: 'func_info_cnt', line_info_rec_size: 'line_info_rec_size', line_info: 'line_info',
      line_info_cnt: 'line_info_cnt', attach_btf_id: 'attach_btf_id', attach_btf_obj_fd: 'attach_btf_obj_fd', core_relo_cnt: 'core_relo_cnt',
      fd_array: 'fd_array', core_relos: 'core_relos', core_relo_rec_size: 'core_relo_rec_size', log_true_size: 'log_true_size',
      prog_token_fd: 'prog_token_fd',
    },
  },
  {
    ts: 'OBJ_PIN_ATTR', ptrs: ['pathname'], title: 'bpf_attr(BPF_OBJ_PIN)', struct: 'bpf_attr', variant: { anonWith: 'pathname' },
    fields: { pathname: 'pathname', bpf_fd: 'bpf_fd', file_flags: 'file_flags' },
  },
  {
    ts: 'PROG_ATTACH_ATTR', title: 'bpf_attr(BPF_PROG_ATTACH)', struct: 'bpf_attr', variant: { anonWith: 'attach_bpf_fd' },
    fields: { target_fd: 'target_fd', attach_bpf_fd: 'attach_bpf_fd', attach_type: 'attach_type', attach_flags: 'attach_flags', replace_bpf_fd: 'replace_bpf_fd' },
  },
  {
    ts: 'PROG_TEST_RUN_ATTR', ptrs: ['data_in', 'data_out', 'ctx_in', 'ctx_out'], title: 'bpf_attr(BPF_PROG_TEST_RUN)', struct: 'bpf_attr', variant: { member: 'test' },
    fields: {
      prog_fd: 'prog_fd', retval: 'retval', data_size_in: 'data_size_in', data_size_out: 'data_size_out', data_in: 'data_in', data_out: 'data_out',
      repeat: 'repeat', duration: 'duration', ctx_size_in: 'ctx_size_in', ctx_size_out: 'ctx_size_out', ctx_in: 'ctx_in', ctx_out: 'ctx_out',
      flags: 'flags', cpu: 'cpu', batch_size: 'batch_size',
    },
  },
  {
    ts: 'GET_ID_ATTR', title: 'bpf_attr(BPF_*_GET_NEXT_ID)', struct: 'bpf_attr', variant: { anonWith: 'next_id' },
    fields: { id: 'start_id', next_id: 'next_id', open_flags: 'open_flags' },
  },
  {
    ts: 'OBJ_INFO_ATTR', ptrs: ['info'], title: 'bpf_attr(BPF_OBJ_GET_INFO_BY_FD)', struct: 'bpf_attr', variant: { member: 'info' },
    fields: { bpf_fd: 'bpf_fd', info_len: 'info_len', info: 'info' },
  },
  {
    ts: 'RAW_TRACEPOINT_OPEN_ATTR', title: 'bpf_attr(BPF_RAW_TRACEPOINT_OPEN)', struct: 'bpf_attr', variant: { member: 'raw_tracepoint' },
    ptrs: ['name'], fields: { name: 'name', prog_fd: 'prog_fd' }, roundTo: 8,
  },
  {
    ts: 'RAW_TRACEPOINT_OPEN_COOKIE_ATTR', title: 'bpf_attr(BPF_RAW_TRACEPOINT_OPEN)', struct: 'bpf_attr', variant: { member: 'raw_tracepoint' },
    ptrs: ['name'], fields: { name: 'name', prog_fd: 'prog_fd', cookie: 'cookie' },
  },
  {
    ts: 'BTF_LOAD_ATTR', ptrs: ['btf', 'btf_log_buf'], title: 'bpf_attr(BPF_BTF_LOAD)', struct: 'bpf_attr', variant: { anonWith: 'btf_log_buf' },
    fields: { btf: 'btf', btf_log_buf: 'btf_log_buf', btf_size: 'btf_size', btf_log_size: 'btf_log_size', btf_log_level: 'btf_log_level', btf_log_true_size: 'btf_log_true_size', btf_flags: 'btf_flags', btf_token_fd: 'btf_token_fd' },
  },
  {
    ts: 'TOKEN_CREATE_ATTR', title: 'bpf_attr(BPF_TOKEN_CREATE)', struct: 'bpf_attr', variant: { member: 'token_create' },
    fields: { flags: 'flags', bpffs_fd: 'bpffs_fd' },
  },
  {
    ts: 'FD_ONLY_ATTR', title: 'bpf_attr(fd)', struct: 'bpf_attr', variant: { member: 'iter_create' },
    fields: { fd: 'link_fd', flags: 'flags' },
  },
  {
    ts: 'LINK_UPDATE_ATTR', title: 'bpf_attr(BPF_LINK_UPDATE)', struct: 'bpf_attr', variant: { member: 'link_update' },
    fields: { link_fd: 'link_fd', new_prog_fd: 'new_prog_fd', flags: 'flags', old_prog_fd: 'old_prog_fd' },
  },
  {
    ts: 'LINK_CREATE_ATTR', roundTo: 8, ptrs: ['iter_info', 'kprobe_multi_syms', 'kprobe_multi_addrs', 'kprobe_multi_cookies', 'uprobe_multi_path', 'uprobe_multi_offsets', 'uprobe_multi_ref_ctr_offsets', 'uprobe_multi_cookies'], title: 'bpf_attr(BPF_LINK_CREATE)', struct: 'bpf_attr', variant: { member: 'link_create' },
    fields: {
      prog_fd: 'prog_fd', target_fd: 'target_fd', attach_type: 'attach_type', flags: 'flags', target_btf_id: 'target_btf_id',
      iter_info: 'iter_info', iter_info_len: 'iter_info_len', perf_event_bpf_cookie: 'perf_event.bpf_cookie',
      kprobe_multi_flags: 'kprobe_multi.flags', kprobe_multi_cnt: 'kprobe_multi.cnt', kprobe_multi_syms: 'kprobe_multi.syms',
      kprobe_multi_addrs: 'kprobe_multi.addrs', kprobe_multi_cookies: 'kprobe_multi.cookies', tracing_cookie: 'tracing.cookie',
      tcx_relative_fd: 'tcx.relative_fd', tcx_expected_revision: 'tcx.expected_revision', uprobe_multi_path: 'uprobe_multi.path',
      uprobe_multi_offsets: 'uprobe_multi.offsets', uprobe_multi_ref_ctr_offsets: 'uprobe_multi.ref_ctr_offsets',
      uprobe_multi_cookies: 'uprobe_multi.cookies', uprobe_multi_cnt: 'uprobe_multi.cnt', uprobe_multi_flags: 'uprobe_multi.flags',
      uprobe_multi_pid: 'uprobe_multi.pid',
    },
  },
  {
    ts: 'PROG_INFO', ptrs: ['jited_prog_insns', 'xlated_prog_insns', 'map_ids', 'jited_ksyms', 'jited_func_lens', 'func_info', 'line_info', 'jited_line_info', 'prog_tags'], title: 'bpf_prog_info', struct: 'bpf_prog_info', roundTo: 8,
    fields: {
      type: 'type', id: 'id', tag: 'tag', jited_prog_len: 'jited_prog_len', xlated_prog_len: 'xlated_prog_len', jited_prog_insns: 'jited_prog_insns',
      xlated_prog_insns: 'xlated_prog_insns', load_time: 'load_time', created_by_uid: 'created_by_uid', nr_map_ids: 'nr_map_ids', map_ids: 'map_ids',
      name: 'name', ifindex: 'ifindex', gpl_compatible: ['gpl_compatible', 'u32'], netns_dev: 'netns_dev', netns_ino: 'netns_ino', nr_jited_ksyms: 'nr_jited_ksyms',
      nr_jited_func_lens: 'nr_jited_func_lens', jited_ksyms: 'jited_ksyms', jited_func_lens: 'jited_func_lens', btf_id: 'btf_id',
      func_info_rec_size: 'func_info_rec_size', func_info: 'func_info', nr_func_info: 'nr_func_info', nr_line_info: 'nr_line_info',
      line_info: 'line_info', jited_line_info: 'jited_line_info', nr_jited_line_info: 'nr_jited_line_info', line_info_rec_size: 'line_info_rec_size',
      jited_line_info_rec_size: 'jited_line_info_rec_size', nr_prog_tags: 'nr_prog_tags', prog_tags: 'prog_tags', run_time_ns: 'run_time_ns',
      run_cnt: 'run_cnt', recursion_misses: 'recursion_misses', verified_insns: 'verified_insns', attach_btf_obj_id: 'attach_btf_obj_id',
      attach_btf_id: 'attach_btf_id',
    },
  },
  {
    ts: 'MAP_INFO', title: 'bpf_map_info', struct: 'bpf_map_info', roundTo: 8,
    fields: {
      type: 'type', id: 'id', key_size: 'key_size', value_size: 'value_size', max_entries: 'max_entries', map_flags: 'map_flags', name: 'name',
      ifindex: 'ifindex', btf_vmlinux_value_type_id: 'btf_vmlinux_value_type_id', netns_dev: 'netns_dev', netns_ino: 'netns_ino', btf_id: 'btf_id',
      btf_key_type_id: 'btf_key_type_id', btf_value_type_id: 'btf_value_type_id', btf_vmlinux_id: 'btf_vmlinux_id', map_extra: 'map_extra',
    },
  },
  {
    ts: 'BTF_INFO', ptrs: ['btf', 'name'], title: 'bpf_btf_info', struct: 'bpf_btf_info', roundTo: 8,
    fields: { btf: 'btf', btf_size: 'btf_size', id: 'id', name: 'name', name_len: 'name_len', kernel_btf: 'kernel_btf' },
  },
  {
    ts: 'PERF_EVENT_ATTR', title: 'perf_event_attr', struct: 'perf_event_attr', roundTo: 8,
    fields: {
      type: 'type', size: 'size', config: 'config', sample_period: 'sample_period', sample_type: 'sample_type', read_format: 'read_format',
      flags: ['disabled', 'flags64'], wakeup_events: 'wakeup_events', bp_type: 'bp_type', config1: 'config1', config2: 'config2',
      branch_sample_type: 'branch_sample_type', sample_regs_user: 'sample_regs_user', sample_stack_user: 'sample_stack_user', clockid: 'clockid',
      sample_regs_intr: 'sample_regs_intr', aux_watermark: 'aux_watermark', sample_max_stack: 'sample_max_stack', config3: 'config3',
    },
  },
];

/** Bitfields whose bit positions inside their 64-bit word are emitted ({ disabled: 1n << 0n, ... }). */
export const BITFIELD_WORDS: { ts: string; struct: string; first: string; doc: string }[] = [
  { ts: 'PERF_ATTR_FLAGS', struct: 'perf_event_attr', first: 'disabled', doc: 'perf_event_attr\'s bitfield word (disabled, inherit, ..., freq, ..., watermark, ...)' },
];

/** Other types kept in the blob because their size or layout is read. */
export const EXTRA_ROOTS = ['bpf_insn', 'bpf_link_info', 'perf_event_mmap_page', 'perf_event_header'];
