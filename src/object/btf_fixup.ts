// Preparing an object's BTF for BPF_BTF_LOAD, the fast way. What the loader
// must change (libbpf's btf_fixup_datasec and extern handling) are fixed-size
// fields: DATASEC sizes and variable offsets, VAR and FUNC linkage, VAR types.
// So instead of decoding every type and encoding them again, a copy of the raw
// blob is patched in place. The one fix-up that needs new types — kfunc
// declarations in .ksyms, which the kernel takes only as variables: libbpf
// points their DATASEC entries at a dummy `int` variable — appends those few
// types (and their names) at the end of the type and string sections.
import { BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_HEADER_SIZE, BTF_INT_SIGNED, BTF_KIND_DATASEC, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_VAR, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_STATIC, btfInfo, btfTypeWords, type Btf } from '../btf/index.ts';
import { BtfError } from '../btf/index.ts';
import { STB_LOCAL, STT_FUNC, STV_HIDDEN, STV_INTERNAL, type ElfFile } from '../elf/index.ts';
import type { ExternSpec } from './spec.ts';
import { copyBytes } from '../util/bytes.ts';

export interface FixupInputs {
  btf: Btf;
  elf: ElfFile;
  externs: readonly ExternSpec[];
  kconfigSize: number;
}

/** The patched blob, or undefined for BTF this fast path does not handle (byte-swapped, split). */
export function patchObjectBtf({ btf, elf, externs, kconfigSize }: FixupInputs): Uint8Array | undefined {
  if (btf.swapped || btf.base) return undefined;
  const bytes = copyBytes(btf.bytes); // patched below: never the spec's own bytes
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
  // Types and names appended to the blob (only .ksyms kfunc declarations need any).
  const extraTypes: number[] = [];
  const extraStrings: string[] = [];
  let nextId = offsets.length;
  let extraStrOff = h.strLen;
  const addString = (str: string): number => {
    const off = extraStrOff;
    extraStrings.push(str);
    extraStrOff += Buffer.byteLength(str) + 1;
    return off;
  };
  let intId = btf.findByNameKind('int', BTF_KIND_INT);
  const needInt = (): number => {
    if (intId > 0) return intId;
    extraTypes.push(addString('int'), btfInfo(BTF_KIND_INT, false, 0), 4, (BTF_INT_SIGNED << 24) | 32);
    intId = nextId++;
    return intId;
  };

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
      // Every entry becomes a 4-byte int variable (what the kernel accepts). A
      // kfunc's FUNC gets global linkage, its unnamed parameters a name, and its
      // DATASEC entry points at one shared dummy variable.
      let dummyVar = 0;
      let dummyName = 0;
      for (let i = 0; i < vars.length; i++) {
        const v = vars[i]!;
        if (v.type >= offsets.length) return undefined;
        const kind = btf.kindOf(v.type);
        if (kind === BTF_KIND_FUNC) {
          if (!dummyVar) {
            const int = needInt();
            dummyName = addString('dummy_ksym');
            extraTypes.push(dummyName, btfInfo(BTF_KIND_VAR, false, 0), int, BTF_VAR_GLOBAL_ALLOCATED);
            dummyVar = nextId++;
          }
          const fnAt = varAt(v);
          setWord(fnAt + 4, (word(fnAt + 4) & ~0xffff) | BTF_FUNC_GLOBAL);
          const proto = word(fnAt + 8);
          if (proto > 0 && proto < offsets.length && btf.kindOf(proto) === BTF_KIND_FUNC_PROTO) {
            const pAt = offsets[proto]!;
            const nparams = word(pAt + 4) & 0xffff;
            for (let j = 0; j < nparams; j++) {
              // struct btf_param { name_off; type } after the 3-word header
              if (word(pAt + 12 + j * 8 + 4) !== 0 && word(pAt + 12 + j * 8) === 0) setWord(pAt + 12 + j * 8, dummyName);
            }
          }
          v.type = dummyVar;
        } else if (kind === BTF_KIND_VAR) {
          setWord(varAt(v) + 8, needInt());
          setWord(varAt(v) + 12, BTF_VAR_GLOBAL_ALLOCATED);
        } else {
          return undefined;
        }
        v.offset = 4 * i;
        v.size = 4;
      }
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
  markHiddenFuncsStatic(btf, elf, offsets, word, setWord);
  if (extraTypes.length === 0) return bytes;
  return appendTypes(bytes, h, extraTypes, extraStrings);
}

/**
 * A non-static function with hidden or internal visibility (`__hidden`, as
 * libbpf's usdt.bpf.h declares `bpf_usdt_arg`) cannot be called from another
 * object, so libbpf gives its BTF FUNC static linkage: the verifier then
 * checks it in its caller's context instead of on its own, where a pointer
 * argument could be NULL. Only subprograms (.text) are concerned; as libbpf,
 * the first global FUNC of that name is the one changed.
 */
function markHiddenFuncsStatic(btf: Btf, elf: ElfFile, offsets: number[], word: (off: number) => number, setWord: (off: number, v: number) => void): void {
  const text = elf.sectionByName('.text');
  if (!text) return;
  const hidden = new Set(
    elf
      .symbolsIn(text.index)
      .filter((s) => s.type === STT_FUNC && s.bind !== STB_LOCAL && (s.visibility === STV_HIDDEN || s.visibility === STV_INTERNAL))
      .map((s) => s.name),
  );
  if (hidden.size === 0) return;
  for (let id = 1; id < offsets.length && hidden.size > 0; id++) {
    if (btf.kindOf(id) !== BTF_KIND_FUNC) continue;
    const at = offsets[id]!;
    const info = word(at + 4);
    const name = btf.nameOf(id);
    if ((info & 0xffff) !== BTF_FUNC_GLOBAL || !hidden.has(name)) continue;
    setWord(at + 4, (info & ~0xffff) | BTF_FUNC_STATIC);
    hidden.delete(name);
  }
}

/** A new blob: header, the (patched) type section plus `types`, the string section plus `strings`. */
function appendTypes(bytes: Uint8Array, h: Btf['header'], types: number[], strings: string[]): Uint8Array {
  const strTail = Buffer.from(strings.map((x) => x + '\0').join(''), 'utf8');
  const typeLen = h.typeLen + types.length * 4;
  const strLen = h.strLen + strTail.length;
  const out = new Uint8Array(h.hdrLen + typeLen + strLen);
  const dv = new DataView(out.buffer);
  out.set(bytes.subarray(0, h.hdrLen), 0);
  // canonical layout: types right after the header, strings right after the types
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strLen, true);
  out.set(bytes.subarray(h.hdrLen + h.typeOff, h.hdrLen + h.typeOff + h.typeLen), h.hdrLen);
  types.forEach((w, i) => dv.setUint32(h.hdrLen + h.typeLen + i * 4, w >>> 0, true));
  out.set(bytes.subarray(h.hdrLen + h.strOff, h.hdrLen + h.strOff + h.strLen), h.hdrLen + typeLen);
  out.set(strTail, h.hdrLen + typeLen + h.strLen);
  return out;
}
