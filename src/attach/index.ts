// src/attach: one file per attach kind; each constructor takes a loaded
// program ({name, fd}: a src/prog Program) and returns a Link.
export * from './errors.ts';
export * from './link.ts';
export * from './tracefs.ts';
export * from './perf_attach.ts';
export * from './tracepoint.ts';
export * from './raw_tracepoint.ts';
export * from './tracing.ts';
export * from './probe_events.ts';
export * from './kprobe.ts';
export * from './kprobe_multi.ts';
export * from './elf_symbols.ts';
export * from './uprobe.ts';
export * from './usdt_notes.ts';
export * from './usdt.ts';
export * from './uprobe_multi.ts';
export * from './perf_event.ts';
export * from './netdev.ts';
export * from './xdp.ts';
export * from './tc.ts';
export * from './cgroup.ts';
export * from './netns.ts';
export * from './iter.ts';
export * from './struct_ops.ts';
export * from './sections.ts';
export * from './auto.ts';
export * from './trace_pipe.ts';
