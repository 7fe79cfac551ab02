// Preparing an object's BTF for BPF_BTF_LOAD, the fast way. What the loader
// must change (libbpf's btf_fixup_datasec and extern handling) are fixed-size
// fields: DATASEC sizes and variable offsets, VAR linkage and type. So instead
// of decoding every type and encoding them again, a copy of the raw blob is
// patched in place. Objects whose fix-up needs new types (kfunc declarations
// in .ksyms, which libbpf replaces with a dummy variable) return undefined and
// take the builder path in object.ts.
import { BTF_HEADER_SIZE, BTF_KIND_DATASEC, BTF_KIND_INT, BTF_KIND_VAR, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_STATIC, btfTypeWords, type Btf } from '../btf/index.ts';
import { BtfError } from '../btf/index.ts';
import { STV_HIDDEN, STV_INTERNAL, type ElfFile } from '../elf/index.ts';
import type { ExternSpec } from './spec.ts';

export interface FixupInputs {
  btf: Btf;
  elf: ElfFile;
  externs: readonly ExternSpec[];
  kconfigSize: number;
}

/** The patched blob, or undefined when the object needs the (slower) builder path. */
export function patchObjectBtf({ btf, elf, externs, kconfigSize }: FixupInputs): Uint8Array | undefined {
  if (btf.swapped || btf.base) return undefined;
  const bytes = btf.bytes.slice();
  const h = btf.header;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const typeStart = h.hdrLen + h.typeOff;
  if (h.hdrLen < BTF_HEADER_SIZE) return undefined;
  const word = (off: number) => dv.getUint32(off, true);
  const setWord = (off: number, v: number) => dv.setUint32(off, v >>> 0, true);

  // Byte offset of every type (the object's BTF is small: one pass).
  const offsets: number[] = [0];
  for (let off = typeStart; off < typeStart + h.typeLen; ) {
    offsets.push(off);
    const info = word(off + 4);
    const words = btfTypeWords((info >>> 24) & 0x1f, info & 0xffff);
    if (words < 0) throw new BtfError(`${btf.name}: unknown kind at byte ${off}`, off);
    off += words * 4;
  }
  const intId = btf.findByNameKind('int', BTF_KIND_INT);

  for (let id = 1; id < offsets.length; id++) {
    if (btf.kindOf(id) !== BTF_KIND_DATASEC) continue;
    const at = offsets[id]!;
    const name = btf.nameOf(id);
    const vlen = word(at + 4) & 0xffff;
    const vars: { type: number; offset: number; size: number }[] = [];
    for (let i = 0; i < vlen; i++) vars.push({ type: word(at + 12 + i * 12), offset: word(at + 16 + i * 12), size: word(at + 20 + i * 12) });
    const varAt = (v: { type: number }) => offsets[v.type]!;
    const isVar = (v: { type: number }) => v.type < offsets.length && btf.kindOf(v.type) === BTF_KIND_VAR;

    if (name === '.kconfig') {
      for (const v of vars) {
        if (!isVar(v)) continue;
        setWord(varAt(v) + 12, BTF_VAR_GLOBAL_ALLOCATED);
        v.offset = externs.find((e) => e.name === btf.nameOf(v.type))?.kconfigOffset ?? 0;
      }
      setWord(at + 8, kconfigSize);
    } else if (name === '.ksyms') {
      // Every entry becomes a 4-byte int variable (what the kernel accepts); functions need a new type.
      if (intId <= 0 || vars.some((v) => !isVar(v))) return undefined;
      vars.forEach((v, i) => {
        setWord(varAt(v) + 8, intId);
        setWord(varAt(v) + 12, BTF_VAR_GLOBAL_ALLOCATED);
        v.offset = 4 * i;
        v.size = 4;
      });
      setWord(at + 8, 4 * vars.length);
    } else {
      const sec = elf.sectionByName(name);
      const fixOffsets = word(at + 8) === 0;
      if (fixOffsets) {
        if (!sec) throw new BtfError(`DATASEC '${name}': no ELF section of that name to take its size from`);
        setWord(at + 8, sec.size);
      }
      for (const v of vars) {
        if (!isVar(v)) continue;
        const linkage = word(varAt(v) + 12);
        if (linkage === BTF_VAR_STATIC && !fixOffsets) continue;
        const varName = btf.nameOf(v.type);
        const sym = sec ? elf.symbols.find((s) => s.shndx === sec.index && s.name === varName) : undefined;
        if (!sym) throw new BtfError(`DATASEC '${name}': no ELF symbol for variable '${varName}'`);
        if (fixOffsets) v.offset = sym.value;
        // A global with restricted visibility is invisible to other objects: the kernel sees it static.
        if (sym.visibility === STV_HIDDEN || sym.visibility === STV_INTERNAL) setWord(varAt(v) + 12, BTF_VAR_STATIC);
      }
    }
    vars.sort((a, b) => a.offset - b.offset);
    vars.forEach((v, i) => {
      setWord(at + 12 + i * 12, v.type);
      setWord(at + 16 + i * 12, v.offset);
      setWord(at + 20 + i * 12, v.size);
    });
  }
  return bytes;
}
