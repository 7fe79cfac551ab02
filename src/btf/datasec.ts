// Filling in DATASEC layouts the compiler leaves open. clang emits DATASECs for
// .data/.bss/.rodata/.maps with size 0 and variable offsets 0: the real values
// are only known from the ELF (section sizes, symbol values), as libbpf's
// btf_fixup_datasec does before loading BTF.
import createDebug from 'debug';
import { BtfError } from './errors.ts';
import type { BtfBuilder } from './marshal.ts';
import { BTF_KIND_DATASEC, BTF_KIND_VAR, BTF_VAR_STATIC } from './types.ts';

const log = createDebug('tsbpf:btf');

/** What the ELF tells about a data section and its symbols. */
export interface DatasecLayout {
  /** Size of the ELF section with this name, or undefined if there is none. */
  sectionSize(secName: string): number | undefined;
  /** The symbol defining variable `varName` in section `secName`: its st_value and whether it is STV_HIDDEN/STV_INTERNAL. */
  symbol(secName: string, varName: string): { value: number; hidden: boolean } | undefined;
}

/** Extern-backed DATASECs have no ELF section: the extern resolver lays them out. */
const EXTERN_DATASECS = new Set(['.kconfig', '.ksyms']);

/**
 * For every DATASEC of size 0: set its size from the ELF section and each
 * variable's offset from its symbol; hidden globals become static VARs; the
 * variables are sorted by offset. Mutates the builder.
 */
export function fixupDatasec(b: BtfBuilder, layout: DatasecLayout): void {
  for (let i = 0; i < b.types.length; i++) {
    const t = b.types[i]!;
    if (t.kind !== BTF_KIND_DATASEC || EXTERN_DATASECS.has(t.name)) continue;
    const fixOffsets = t.size === 0;
    if (fixOffsets) {
      const size = layout.sectionSize(t.name);
      if (size === undefined) throw new BtfError(`DATASEC '${t.name}': no ELF section of that name to take its size from`);
      t.size = size;
    }
    for (const v of t.vars) {
      const vt = b.types[v.type - b.startId];
      if (!vt || vt.kind !== BTF_KIND_VAR) throw new BtfError(`DATASEC '${t.name}': entry type ${v.type} is not a VAR`);
      if (vt.linkage === BTF_VAR_STATIC && !fixOffsets) continue;
      const sym = layout.symbol(t.name, vt.name);
      if (!sym) throw new BtfError(`DATASEC '${t.name}': no ELF symbol for variable '${vt.name}'`);
      if (fixOffsets) v.offset = sym.value;
      // A global with restricted visibility is not visible to other objects: mark it static.
      if (sym.hidden) vt.linkage = BTF_VAR_STATIC;
    }
    t.vars.sort((x, y) => x.offset - y.offset);
    log('DATASEC %s: size %d, %d variables', t.name, t.size, t.vars.length);
  }
}
