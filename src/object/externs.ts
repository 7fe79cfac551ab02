// Resolving externs against the running kernel, as libbpf's
// bpf_object__resolve_externs does:
//   .kconfig  values from the kernel config (plus LINUX_* values libbpf provides),
//             written into the .kconfig map at the offsets parse.ts laid out;
//   __ksym    typed variables -> their BTF id in vmlinux; typeless -> kallsyms address;
//   kfuncs    -> the FUNC's BTF id in vmlinux.
// A typed ksym or kfunc vmlinux lacks is looked up in the modules' split BTF
// (/sys/kernel/btf/<module>), as libbpf does; the load then names the
// module's BTF object by fd (object.ts).
// A weak extern that cannot be resolved is zero; a strong one is an error.
import createDebug from 'debug';
import { type Btf, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_FUNC, BTF_KIND_INT, BTF_KIND_VAR, resolveType } from '../btf/index.ts';
import { ObjectError } from './errors.ts';
import { kernelVersionCode, readKernelConfig } from './kconfig.ts';
import { kernelSymbolAddresses } from '../features/index.ts';
import { linkProgram } from './linker.ts';
import type { CollectionSpec, ExternSpec, FunctionSpec } from './spec.ts';

const log = createDebug('tsbpf:object');

export interface ResolvedExtern {
  spec: ExternSpec;
  /** Resolved against the kernel (false: a weak extern left at zero). */
  isSet: boolean;
  /** ksym/kfunc: BTF id in the kernel's BTF (0 for typeless or unresolved). */
  kernelBtfId: number;
  /** typeless ksym: kallsyms address. */
  addr: bigint;
  /** ksym/kfunc found in a module's BTF (kernelBtfId is then an id of that split BTF). */
  module?: string;
}

export interface ExternOptions {
  kernelBtf: () => Btf;
  /** The loaded modules' BTF (split on vmlinux), searched when vmlinux lacks a ksym or kfunc. */
  moduleBtfs?: () => readonly { name: string; btf: Btf }[];
  /** Extra/override kconfig values ("CONFIG_HZ" -> "250"). */
  kconfig?: Record<string, string>;
  /** Path of a kernel config to read instead of /proc/config.gz or /boot/config-$(uname -r). */
  kconfigPath?: string;
}

export interface ResolvedExterns {
  byName: Map<string, ResolvedExtern>;
  /** Initial contents of the .kconfig map. */
  kconfigData?: Uint8Array;
}

const TRI_NO = 0;
const TRI_YES = 1;
const TRI_MODULE = 2;

export function resolveExterns(spec: CollectionSpec, opts: ExternOptions): ResolvedExterns {
  const byName = new Map<string, ResolvedExtern>();
  if (spec.externs.length === 0) return { byName };
  const objName = spec.name;
  const btf = spec.btf!;
  const kcfgExterns = spec.externs.filter((e) => e.kind === 'kconfig');
  let kconfigData: Uint8Array | undefined;
  if (kcfgExterns.length > 0) {
    const kcfgMap = spec.maps.find((m) => m.origin === 'kconfig')!;
    kconfigData = new Uint8Array(kcfgMap.spec.valueSize);
    const needsConfig = kcfgExterns.some((e) => e.name.startsWith('CONFIG_') && !(opts.kconfig && e.name in opts.kconfig));
    const config = needsConfig ? readKernelConfig(opts.kconfigPath) : undefined;
    if (needsConfig && !config && kcfgExterns.some((e) => e.name.startsWith('CONFIG_') && !e.weak))
      throw new ObjectError(objName, `extern ${kcfgExterns.find((e) => e.name.startsWith('CONFIG_') && !e.weak)!.name} needs the kernel config, but neither /proc/config.gz nor /boot/config-<release> exists`);
    for (const e of kcfgExterns) {
      let raw: string | undefined = opts.kconfig?.[e.name];
      if (raw === undefined) raw = linuxValue(e.name, opts);
      if (raw === undefined && e.name.startsWith('CONFIG_')) raw = config?.values.get(e.name);
      if (raw === undefined) {
        if (!e.weak) throw new ObjectError(objName, `extern ${e.name} is not set in the kernel config${config ? ` (${config.source})` : ''} and is not __weak`);
        log('kconfig %s: not found, weak -> 0', e.name);
        byName.set(e.name, { spec: e, isSet: false, kernelBtfId: 0, addr: 0n });
        continue;
      }
      writeKconfigValue(btf, e, raw, kconfigData, objName);
      log('kconfig %s = %s', e.name, raw);
      byName.set(e.name, { spec: e, isSet: true, kernelBtfId: 0, addr: 0n });
    }
  }

  const typeless = new Set(spec.externs.filter((e) => e.kind === 'ksym' && resolveType(btf, e.typeId) === 0).map((e) => e.name));
  const addrs = kernelSymbolAddresses(typeless);
  for (const e of spec.externs) {
    if (e.kind === 'kconfig') continue;
    if (e.kind === 'ksym' && typeless.has(e.name)) {
      const addr = addrs.get(e.name);
      if (addr === undefined && !e.weak) throw new ObjectError(objName, `${usersOf(spec, e.name)}extern __ksym "${e.name}" is not in /proc/kallsyms`);
      byName.set(e.name, { spec: e, isSet: addr !== undefined, kernelBtfId: 0, addr: addr ?? 0n });
      log('ksym %s -> %s', e.name, addr === undefined ? 'unresolved (weak)' : `0x${addr.toString(16)}`);
      continue;
    }
    const kbtf = opts.kernelBtf();
    const wantKind = e.kind === 'kfunc' ? BTF_KIND_FUNC : BTF_KIND_VAR;
    let id = kbtf.findByNameKind(e.name, wantKind);
    let module: string | undefined;
    if (id <= 0) {
      for (const m of opts.moduleBtfs?.() ?? []) {
        const mid = m.btf.findByNameKind(e.name, wantKind);
        if (mid >= m.btf.startId) {
          id = mid;
          module = m.name;
          break;
        }
      }
    }
    if (id <= 0) {
      if (!e.weak) throw new ObjectError(objName, `${usersOf(spec, e.name)}extern ${e.kind === 'kfunc' ? 'kfunc' : '__ksym variable'} "${e.name}" does not exist in the kernel's BTF`);
      byName.set(e.name, { spec: e, isSet: false, kernelBtfId: 0, addr: 0n });
      log('%s %s: unresolved (weak)', e.kind, e.name);
      continue;
    }
    byName.set(e.name, { spec: e, isSet: true, kernelBtfId: id, addr: 0n, module });
    log('%s %s -> %s BTF id %d', e.kind, e.name, module ?? 'vmlinux', id);
  }
  return { byName, kconfigData };
}

/**
 * For messages: the programs that use an extern, directly or through the
 * subprograms they call — `program "a": `, `programs "a", "b" (in subprogram "f"): `.
 */
function usersOf(spec: CollectionSpec, extern: string): string {
  const uses = (f: FunctionSpec) => f.relocs.some((r) => (r.kind === 'extern' || r.kind === 'kfunc') && r.extern === extern);
  const subs = spec.subprograms.filter(uses);
  const reaches = (p: FunctionSpec): boolean => {
    if (uses(p)) return true;
    if (subs.length === 0) return false;
    try {
      // the subprograms linking would place into this program (pure; only on this error path)
      return linkProgram(p, spec.subprograms, (f) => f.insns, undefined, spec.name).placed.some(({ fn }) => subs.includes(fn));
    } catch {
      return false;
    }
  };
  const progs = spec.programs.filter(reaches).map((f) => `"${f.name}"`);
  const via = subs.length ? ` (in subprogram${subs.length > 1 ? 's' : ''} ${subs.map((f) => `"${f.name}"`).join(', ')})` : '';
  if (progs.length === 0) return via ? `${via.slice(2, -1)}: ` : '';
  return `program${progs.length > 1 ? 's' : ''} ${progs.join(', ')}${via}: `;
}

/** The LINUX_* externs libbpf provides itself. */
function linuxValue(name: string, opts: ExternOptions): string | undefined {
  switch (name) {
    case 'LINUX_KERNEL_VERSION':
      return String(kernelVersionCode());
    case 'LINUX_HAS_BPF_COOKIE':
      return 'y'; // every kernel with BPF links has cookies (5.15+); tsbpf targets those
    case 'LINUX_HAS_SYSCALL_WRAPPER': {
      // x86_64 kernels since 4.17 enter syscalls through __x64_sys_* wrappers taking pt_regs.
      const btf = opts.kernelBtf();
      return btf.findByNameKind('__x64_sys_bpf', BTF_KIND_FUNC) > 0 ? 'y' : 'n';
    }
    default:
      return undefined;
  }
}

/** Encode one kconfig value by the extern's C type (bool, tristate, char, integer, char array), as libbpf accepts them. */
function writeKconfigValue(btf: Btf, e: ExternSpec, raw: string, out: Uint8Array, objName: string): void {
  const fail = (why: string): never => {
    throw new ObjectError(objName, `extern ${e.name}: ${why}`);
  };
  // The layout comes from the object's BTF: check it fits before writing (a crafted type may claim any size).
  if (e.kconfigSize! < 1 || e.kconfigOffset! + e.kconfigSize! > out.length) fail(`its ${e.kconfigSize} bytes at offset ${e.kconfigOffset} do not fit the ${out.length}-byte .kconfig map`);
  const dv = new DataView(out.buffer, out.byteOffset + e.kconfigOffset!, e.kconfigSize!);
  const t = btf.type(e.typeId);
  const tri = raw === 'y' ? TRI_YES : raw === 'm' ? TRI_MODULE : raw === 'n' ? TRI_NO : undefined;
  if (t.kind === BTF_KIND_ENUM && t.name === 'libbpf_tristate') {
    if (tri === undefined) fail(`value "${raw}" is not y, m or n (the extern is a tristate)`);
    if (e.kconfigSize !== 4) fail(`a tristate must be 4 bytes (its BTF says ${e.kconfigSize})`);
    dv.setInt32(0, tri!, true);
    return;
  }
  if (t.kind === BTF_KIND_INT && (t.encoding & BTF_INT_BOOL) !== 0) {
    if (tri === undefined || tri === TRI_MODULE) fail(`value "${raw}" is not y or n (the extern is a bool)`);
    dv.setUint8(0, tri === TRI_YES ? 1 : 0);
    return;
  }
  if (t.kind === BTF_KIND_INT && t.size === 1 && (t.encoding & BTF_INT_CHAR) !== 0 && tri !== undefined) {
    dv.setUint8(0, raw.charCodeAt(0));
    return;
  }
  if (t.kind === BTF_KIND_ARRAY) {
    if (!raw.startsWith('"')) fail(`value ${raw} is not a string (the extern is a char array)`);
    let text: unknown;
    try {
      text = JSON.parse(raw);
    } catch {
      return fail(`value ${raw} is not a well-formed quoted string`);
    }
    if (typeof text !== 'string') fail(`value ${raw} is not a string (the extern is a char array)`);
    const s = Buffer.from(text as string, 'utf8');
    const n = Math.min(s.length, e.kconfigSize! - 1);
    out.set(s.subarray(0, n), e.kconfigOffset!);
    out[e.kconfigOffset! + n] = 0;
    return;
  }
  if (t.kind === BTF_KIND_INT || t.kind === BTF_KIND_ENUM) {
    if (tri !== undefined || raw.startsWith('"')) fail(`value "${raw}" is not a number (the extern is an integer)`);
    let v: bigint;
    try {
      v = BigInt(raw);
    } catch {
      return fail(`value "${raw}" is not a number`);
    }
    const size = e.kconfigSize!;
    const signed = t.kind === BTF_KIND_INT && (t.encoding & BTF_INT_SIGNED) !== 0;
    const bits = BigInt(size * 8);
    if (signed ? BigInt.asIntN(Number(bits), v) !== v : BigInt.asUintN(Number(bits), v) !== v) fail(`value ${raw} does not fit in ${size} bytes`);
    const u = BigInt.asUintN(Number(bits), v);
    for (let i = 0; i < size; i++) dv.setUint8(i, Number((u >> BigInt(8 * i)) & 0xffn));
    return;
  }
  fail(`unsupported type for a kconfig extern (kind ${t.kind})`);
}
