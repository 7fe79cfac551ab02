// Code relocation: turning one program's function into the instruction
// stream the kernel loads, the way libbpf's bpf_object__reloc_code does:
//   - walk the program's instructions; at each bpf-to-bpf call or callback
//     address (BPF_PSEUDO_FUNC) find the .text subprogram it targets;
//   - the first time a subprogram is needed, append a copy of it at the end of
//     the stream and walk it too (depth first), so every program carries its
//     own copy of exactly the subprograms it reaches, in first-use order;
//   - rewrite the call's imm to the distance to that copy.
// The order matters: equal instruction streams give equal kernel program tags.
// func_info and line_info records follow their instructions to their new places.
import type { BtfExt, BtfExtFuncInfo, BtfExtLineInfo } from '../btf/index.ts';
import { extRecordsFor } from '../btf/index.ts';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, CALL, LD_IMM64 } from '../prog/insn.ts';
import { copyBytes } from '../util/bytes.ts';
import { ObjectError } from './errors.ts';
import type { CodeReloc, FunctionSpec } from './spec.ts';

/** A program ready for map fds and externs: its instructions and relocations in stream order. */
export interface LinkedProgram {
  insns: Uint8Array;
  /** Data/map/extern relocations, insnIdx in the final stream. */
  relocs: CodeReloc[];
  /** func_info records, insnOff as an instruction index in the final stream. */
  funcInfo: { insnOff: number; typeId: number }[];
  lineInfo: { info: BtfExtLineInfo; insnIdx: number }[];
  /** Where each placed function starts in the stream (for messages). */
  placed: { fn: FunctionSpec; start: number }[];
}

/**
 * Link `main` with the subprograms it reaches. `code(fn)` returns the
 * function's instructions after CO-RE relocation; they are shared (by every
 * program that reaches the function, and with the spec) and never written:
 * the linker patches copies of its own.
 */
export function linkProgram(
  main: FunctionSpec,
  subprograms: readonly FunctionSpec[],
  code: (fn: FunctionSpec) => Uint8Array,
  btfExt: BtfExt | undefined,
  objName: string,
): LinkedProgram {
  const chunks: Uint8Array[] = [];
  let length = 0; // instructions so far
  const placedAt = new Map<FunctionSpec, number>();
  const placed: { fn: FunctionSpec; start: number }[] = [];
  const relocs: CodeReloc[] = [];
  const funcInfo: { insnOff: number; typeId: number }[] = [];
  const lineInfo: { info: BtfExtLineInfo; insnIdx: number }[] = [];
  // The stream is assembled at the end; while linking, each function's code is patched in its own copy.
  const copies = new Map<FunctionSpec, Uint8Array>();

  const place = (fn: FunctionSpec): number => {
    const insns = copyBytes(code(fn));
    // libbpf marks callback address loads before linking so the walk below recognizes them.
    for (const r of fn.relocs) if (r.kind === 'subprog_addr') insns[r.insnIdx * 8 + 1] = (insns[r.insnIdx * 8 + 1]! & 0x0f) | (BPF_PSEUDO_FUNC << 4);
    const start = length;
    placedAt.set(fn, start);
    placed.push({ fn, start });
    chunks.push(insns);
    copies.set(fn, insns);
    length += fn.insnCount;
    for (const r of fn.relocs) relocs.push({ ...r, insnIdx: r.insnIdx + start });
    if (btfExt) {
      for (const rec of extRecordsFor<BtfExtFuncInfo>(btfExt.funcInfo, fn.sectionName)) {
        const idx = rec.insnOff / 8;
        if (idx >= fn.secInsnOff && idx < fn.secInsnOff + fn.insnCount) funcInfo.push({ insnOff: idx - fn.secInsnOff + start, typeId: rec.typeId });
      }
      for (const rec of extRecordsFor<BtfExtLineInfo>(btfExt.lineInfo, fn.sectionName)) {
        const idx = rec.insnOff / 8;
        if (idx >= fn.secInsnOff && idx < fn.secInsnOff + fn.insnCount) lineInfo.push({ info: rec, insnIdx: idx - fn.secInsnOff + start });
      }
    }
    return start;
  };

  const walk = (fn: FunctionSpec): void => {
    const bytes = copies.get(fn)!;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fnStart = placedAt.get(fn)!;
    for (const i of callsAndLoads(bytes)) {
      const code8 = bytes[i * 8]!;
      const src = bytes[i * 8 + 1]! >> 4;
      const isCall = code8 === CALL && src === BPF_PSEUDO_CALL;
      const isFuncAddr = code8 === LD_IMM64 && src === BPF_PSEUDO_FUNC;
      if (!isCall && !isFuncAddr) continue;
      const imm = dv.getInt32(i * 8 + 4, true);
      const relo = fn.relocs.find((r) => r.insnIdx === i);
      if (relo?.kind === 'kfunc') continue; // resolved with the externs
      let subSecInsn: number;
      if (relo?.kind === 'call') subSecInsn = relo.symOff / 8 + imm + 1;
      else if (relo?.kind === 'subprog_addr') subSecInsn = (relo.symOff + imm) / 8;
      else if (relo) throw new ObjectError(objName, `program "${main.name}": instruction ${i} of "${fn.name}" is a call but its relocation is a ${relo.kind}`);
      else if (isFuncAddr) throw new ObjectError(objName, `program "${main.name}": callback address at instruction ${i} of "${fn.name}" has no relocation`);
      else {
        // A call inside .text without a relocation: imm is relative to the call's own position in the section.
        if (!fn.isSubprog) throw new ObjectError(objName, `program "${fn.name}": call at instruction ${i} targets its own section (${fn.sectionName}); subprograms must be in .text`);
        subSecInsn = fn.secInsnOff + i + imm + 1;
      }
      const sub = subprograms.find((s) => subSecInsn >= s.secInsnOff && subSecInsn < s.secInsnOff + s.insnCount);
      if (!sub) throw new ObjectError(objName, `program "${main.name}": instruction ${i} of "${fn.name}" calls .text instruction ${subSecInsn}, where no function starts`);
      let subStart = placedAt.get(sub);
      if (subStart === undefined) {
        subStart = place(sub);
        walk(sub);
      }
      dv.setInt32(i * 8 + 4, subStart - (fnStart + i) - 1, true);
    }
  };

  place(main);
  walk(main);

  const insns = new Uint8Array(length * 8);
  let off = 0;
  for (const c of chunks) {
    insns.set(c, off);
    off += c.length;
  }
  return { insns, relocs, funcInfo, lineInfo, placed };
}

/**
 * Indexes of the instructions whose opcode is CALL or LD_IMM64, ascending: the
 * only ones linking rewrites. Native byte searches find them (a hit counts only
 * on an instruction's first byte), so the walk skips the rest of the code
 * without visiting it.
 */
function callsAndLoads(insns: Uint8Array): Int32Array {
  const found: number[] = [];
  for (const op of [CALL, LD_IMM64]) {
    for (let p = insns.indexOf(op); p !== -1; p = insns.indexOf(op, p + 1)) if (p % 8 === 0) found.push(p / 8);
  }
  return Int32Array.from(found).sort();
}

/** Kernel-format func_info (struct bpf_func_info: insn_off, type_id). */
export function encodeFuncInfo(recs: { insnOff: number; typeId: number }[]): Uint8Array {
  // Kernel structs of u32 fields: host byte order, written as words.
  const w = new Uint32Array(recs.length * 2);
  for (let i = 0; i < recs.length; i++) {
    w[i * 2] = recs[i]!.insnOff;
    w[i * 2 + 1] = recs[i]!.typeId;
  }
  return new Uint8Array(w.buffer);
}

/** Kernel-format line_info (struct bpf_line_info: insn_off, file_name_off, line_off, line_col). */
export function encodeLineInfo(recs: { info: BtfExtLineInfo; insnIdx: number }[]): Uint8Array {
  // Kernel structs of u32 fields: host byte order, written as words.
  const w = new Uint32Array(recs.length * 4);
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i]!;
    w[i * 4] = r.insnIdx;
    w[i * 4 + 1] = r.info.fileNameOff;
    w[i * 4 + 2] = r.info.lineOff;
    w[i * 4 + 3] = (r.info.lineNum << 10) | (r.info.lineCol & 0x3ff);
  }
  return new Uint8Array(w.buffer);
}
