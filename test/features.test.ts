// src/features: the public probes answer what the running kernel does, from
// one cache with one override. Each answer is checked against the kernel
// itself (creating the map / loading the program the probe says works).
import { describe, expect, it } from 'vitest';
import { haveBtfKind, haveHelper, haveLinkKind, haveMapType, haveProgramType, hasPerfLink, kernelSymbolAddresses, kernelSymbolExists, overrideFeature, probePmu } from '../src/features/index.ts';
import { BpfMap, MapType } from '../src/maps/index.ts';
import { BpfProgType } from '../src/prog/index.ts';
import { BpfFuncId, BpfLinkType } from '../src/uapi/index.ts';
import { UsageError } from '../src/errors.ts';
import { kernelRefusal, needsRoot } from './helpers/env.ts';
import { existsSync, readFileSync } from 'node:fs';

describe.skipIf(needsRoot)('feature probes on the real kernel', () => {
  it('program types this kernel has, and one value it cannot have', () => {
    for (const t of [BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, BpfProgType.BPF_PROG_TYPE_XDP, BpfProgType.BPF_PROG_TYPE_TRACEPOINT, BpfProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BpfProgType.BPF_PROG_TYPE_SK_LOOKUP, BpfProgType.BPF_PROG_TYPE_SYSCALL])
      expect(`${BpfProgType[t]}=${haveProgramType(t)}`).toBe(`${BpfProgType[t]}=true`);
    expect(() => haveProgramType(999 as BpfProgType)).toThrow(UsageError);
  });

  it('map types: every answer matches what creating the map does', (ctx) => {
    for (const t of [MapType.BPF_MAP_TYPE_HASH, MapType.BPF_MAP_TYPE_RINGBUF, MapType.BPF_MAP_TYPE_LPM_TRIE, MapType.BPF_MAP_TYPE_HASH_OF_MAPS, MapType.BPF_MAP_TYPE_TASK_STORAGE, MapType.BPF_MAP_TYPE_BLOOM_FILTER, MapType.BPF_MAP_TYPE_STACK_TRACE])
      expect(`${MapType[t]}=${haveMapType(t)}`).toBe(`${MapType[t]}=true`);
    const m = BpfMap.create({ name: 'fp_check', type: MapType.BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 1, flags: 0 });
    m.close();
    expect(haveMapType(MapType.BPF_MAP_TYPE_QUEUE)).toBe(true);
    try {
      haveMapType(MapType.BPF_MAP_TYPE_ARENA);
    } catch (e) {
      // this machine's policy refuses arenas with EPERM: the probe says so instead of answering "missing"
      if (kernelRefusal(e) === 'EPERM') return ctx.skip('BPF_MAP_TYPE_ARENA refused by the kernel policy (EPERM)');
      throw e;
    }
  });

  it('helpers: one every kernel has, one a socket filter may not call, an id no kernel has', () => {
    expect(haveHelper(BpfProgType.BPF_PROG_TYPE_KPROBE, BpfFuncId.BPF_FUNC_ktime_get_ns)).toBe(true);
    expect(haveHelper(BpfProgType.BPF_PROG_TYPE_SOCKET_FILTER, BpfFuncId.BPF_FUNC_override_return)).toBe(false);
    expect(haveHelper(BpfProgType.BPF_PROG_TYPE_XDP, 100_000)).toBe(false);
  });

  it('link kinds: perf links (5.15+) and tcx (6.6+) on this kernel; kprobe.multi exactly when fprobe exists', () => {
    expect(haveLinkKind(BpfLinkType.BPF_LINK_TYPE_PERF_EVENT)).toBe(true);
    expect(hasPerfLink()).toBe(true);
    expect(haveLinkKind(BpfLinkType.BPF_LINK_TYPE_TCX)).toBe(true);
    expect(haveLinkKind(BpfLinkType.BPF_LINK_TYPE_UPROBE_MULTI)).toBe(true);
    expect(haveLinkKind(BpfLinkType.BPF_LINK_TYPE_CGROUP)).toBe(true); // from the kernel's BTF
    const fprobe = existsSync('/sys/kernel/tracing/available_filter_functions') || existsSync('/sys/bus/event_source/devices/kprobe');
    if (!fprobe) expect(haveLinkKind(BpfLinkType.BPF_LINK_TYPE_KPROBE_MULTI)).toBe(false);
  });

  it('BTF kinds, by number or name', () => {
    expect(haveBtfKind('INT')).toBe(true);
    expect(haveBtfKind('enum64')).toBe(true); // 6.0+
    expect(haveBtfKind('BTF_KIND_DECL_TAG')).toBe(true);
    expect(() => haveBtfKind('nope')).toThrow(UsageError);
  });

  it('one override mechanism: a forced answer wins, undefined re-probes', () => {
    overrideFeature('link:BPF_LINK_TYPE_PERF_EVENT', false);
    expect(hasPerfLink()).toBe(false);
    overrideFeature('link:BPF_LINK_TYPE_PERF_EVENT', undefined);
    expect(hasPerfLink()).toBe(true);
    overrideFeature('map:BPF_MAP_TYPE_HASH', false);
    expect(haveMapType(MapType.BPF_MAP_TYPE_HASH)).toBe(false);
    overrideFeature('map:BPF_MAP_TYPE_HASH', undefined);
    expect(haveMapType(MapType.BPF_MAP_TYPE_HASH)).toBe(true);
  });

  it('one kallsyms reader; the PMUs as sysfs lists them', () => {
    const text = readFileSync('/proc/kallsyms', 'utf8');
    const line = text.split('\n').find((l) => / T bpf_prog_put$/.test(l))!;
    expect(kernelSymbolExists('bpf_prog_put')).toBe(true);
    expect(kernelSymbolExists('tsbpf_no_such_symbol')).toBe(false);
    expect(kernelSymbolAddresses(new Set(['bpf_prog_put'])).get('bpf_prog_put')).toBe(BigInt('0x' + line.split(' ')[0]));
    expect(probePmu('uprobe')?.type).toBe(Number(readFileSync('/sys/bus/event_source/devices/uprobe/type', 'utf8')));
    expect(probePmu('kprobe')).toBe(existsSync('/sys/bus/event_source/devices/kprobe/type') ? probePmu('kprobe') : null);
  });
});
