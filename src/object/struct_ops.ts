// struct_ops: `.struct_ops` / `.struct_ops.link` sections hold kernel
// structures of function pointers (tcp_congestion_ops, sched_ext_ops, ...)
// whose members point at programs in `struct_ops/` sections. tsbpf does not
// implement them yet. Loading such an object without them would report
// success for programs that were never registered with the kernel, so
// load() refuses it here, in this one place; the implementation replaces
// this module.
import { NotSupportedError } from '../errors.ts';
import { STT_OBJECT } from '../elf/index.ts';
import { BpfProgType } from '../prog/types.ts';
import type { CollectionSpec } from './spec.ts';

/** `.struct_ops`, `.struct_ops.link`, and their `?`-prefixed (not auto-created) forms. */
export function isStructOpsSection(name: string): boolean {
  const n = name.startsWith('?') ? name.slice(1) : name;
  return n === '.struct_ops' || n === '.struct_ops.link' || n.startsWith('.struct_ops.');
}

/** Throws NotSupportedError naming the section(s) when the object uses struct_ops. */
export function refuseStructOps(spec: CollectionSpec): void {
  const progs = spec.programs.filter((p) => p.type === BpfProgType.BPF_PROG_TYPE_STRUCT_OPS);
  const sections = spec.elf.sections
    .filter((sec) => isStructOpsSection(sec.name))
    .map((sec) => {
      const maps = spec.elf.symbolsIn(sec.index).filter((s) => s.type === STT_OBJECT && s.name !== '').map((s) => s.name);
      return `section ${sec.name}${maps.length ? ` (map${maps.length > 1 ? 's' : ''} ${maps.join(', ')})` : ''}`;
    });
  if (sections.length === 0 && progs.length === 0) return;
  const where = sections.length ? sections.join(', ') : `section ${progs[0]!.sectionName}`;
  const what = progs.length ? `struct_ops programs (${progs.map((p) => p.name).join(', ')})` : 'struct_ops maps';
  throw new NotSupportedError('struct_ops', `${spec.name}: ${where}: ${what} are not supported by tsbpf yet; nothing was loaded`);
}
