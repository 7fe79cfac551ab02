// BTF -> a C header (what `bpftool btf dump file ... format c` writes as
// vmlinux.h). Pure: a Btf in, text out.
//
// Two passes, as libbpf's btf_dump does them:
//  1. Ordering. C needs a type defined before it is embedded (a struct
//     member, an array element, a typedef's target), while a use through a
//     pointer needs only a forward declaration. A depth-first walk from each
//     root marks what each type needs: embedded uses recurse ("strong"),
//     uses through a pointer stop at a named struct or union ("weak"). Named
//     definitions are queued after everything they embed, so the queue is a
//     valid definition order. A cycle of embeddings cannot be written in C
//     (it cannot exist in a real program); a cycle through a pointer is
//     broken by the forward declaration.
//  2. Emission. Each queued type is written out in full. Before that, every
//     type its members mention is visited: a named struct or union that is
//     not yet defined gets a forward declaration (`struct task_struct;`),
//     typedefs and enums are written out, anonymous types are inlined where
//     they are used.
//
// The details that make the header compile to the same layouts as the
// kernel's: explicit padding (`long: 64;`, `int: 0;`) where the natural
// layout would not put a member at its BTF offset, bitfield widths,
// `__attribute__((packed))` for structs whose members are not naturally
// aligned, `mode(byte)`/`mode(word)` for enums whose size ISO C cannot
// express, names that repeat (two different `struct foo`s) suffixed `___2`,
// and __builtin_va_list left to the compiler.
import {
  alignof, type Btf, type BtfComposite, type BtfEnum, type BtfEnum64, type BtfFuncProto, BTF_KIND_ARRAY, BTF_KIND_CONST,
  BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO,
  BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG,
  BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE, BtfError, sizeof,
} from '../btf/index.ts';

export interface CHeaderOptions {
  /** Only these types and what they need (default: every type). */
  roots?: number[];
  /** The include guard (default __VMLINUX_H__); '' for none. */
  guard?: string;
  /** Wrap the types in `#pragma clang attribute push(preserve_access_index)`, as bpftool does (default true). */
  preserveAccessIndex?: boolean;
}

const enum Order { NONE, ORDERING, ORDERED }
const enum Emit { NONE, EMITTING, EMITTED }

/** Pointer size of the BPF target (and of x86_64): `long` is 64 bits. */
const PTR_BITS = 64;
const PADS: readonly [string, number][] = [['long', PTR_BITS], ['int', 32], ['short', 16], ['char', 8]];

/** The header for the given BTF (the whole of it, or `roots` and their dependencies). */
export function btfToCHeader(btf: Btf, opts: CHeaderOptions = {}): string {
  const guard = opts.guard ?? '__VMLINUX_H__';
  const pai = opts.preserveAccessIndex ?? true;
  const parts: string[] = [];
  if (guard) parts.push(`#ifndef ${guard}\n#define ${guard}\n\n`);
  if (pai) parts.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n');
  const d = new CDumper(btf, (s) => parts.push(s));
  if (opts.roots) for (const id of opts.roots) d.dumpType(id);
  else for (let id = 1; id <= btf.typeCount; id++) d.dumpType(id);
  if (pai) parts.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n');
  if (guard) parts.push(`#endif /* ${guard} */\n`);
  return parts.join('');
}

/** Deepest chain of types a walk follows (see #enter). */
const MAX_CHAIN = 1000;

function pfx(lvl: number): string {
  return '\t'.repeat(lvl);
}

/** The streaming dumper: dumpType(id) writes `id` and whatever it needs that is not written yet. */
export class CDumper {
  readonly #btf: Btf;
  readonly #write: (s: string) => void;
  readonly #order: Uint8Array;
  readonly #emit: Uint8Array;
  /** A forward declaration (struct/union) or the typedef line (typedef) is already out. */
  readonly #fwdEmitted: Uint8Array;
  readonly #referenced: Uint8Array;
  /** Resolved names (with ___N suffixes), by id. */
  readonly #names = new Map<number, string>();
  /** How many times each name was seen, per namespace: tags (struct/union/enum) and identifiers (typedefs, enumerators). */
  readonly #tagCounts = new Map<string, number>();
  readonly #identCounts = new Map<string, number>();
  #queue: number[] = [];
  /** alignof() per id, +1 (0 = not computed yet): struct definitions ask for the same member types again and again. */
  readonly #aligns: Uint8Array;

  /** How deep the current walk (ordering or a declaration) is. */
  #depth = 0;

  constructor(btf: Btf, write: (s: string) => void) {
    this.#btf = btf;
    this.#write = write;
    const n = btf.typeCount + 1;
    this.#order = new Uint8Array(n);
    this.#emit = new Uint8Array(n);
    this.#fwdEmitted = new Uint8Array(n);
    this.#referenced = new Uint8Array(n);
    this.#aligns = new Uint8Array(n);
    this.#markReferenced();
  }

  /** Anonymous enums nobody refers to are top-level constant lists (`enum { X = 1 };`): mark what is referenced. */
  #markReferenced(): void {
    const btf = this.#btf;
    const ref = this.#referenced;
    for (let id = 1; id <= btf.typeCount; id++) {
      const kind = btf.kindOf(id);
      switch (kind) {
        case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT:
        case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: case BTF_KIND_FUNC: case BTF_KIND_DECL_TAG:
          ref[btf.sizeOrTypeOf(id)] = 1;
          break;
        case BTF_KIND_ARRAY:
          ref[btf.arrayType(id)] = 1;
          break;
        case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
          const w = btf.memberWords(id);
          for (let i = 1; i < w.length; i += 3) ref[w[i]!] = 1;
          break;
        }
        case BTF_KIND_FUNC_PROTO: {
          const t = btf.decode(id) as BtfFuncProto;
          ref[t.type] = 1;
          for (const p of t.params) ref[p.type] = 1;
          break;
        }
        case BTF_KIND_DATASEC: {
          const t = btf.decode(id) as { vars: { type: number }[] };
          for (const v of t.vars) ref[v.type] = 1;
          break;
        }
        default:
          break;
      }
    }
  }

  dumpType(id: number): void {
    if (id <= 0 || id > this.#btf.typeCount) throw new BtfError(`${this.#btf.name}: type id ${id} is out of range (1..${this.#btf.typeCount})`);
    this.#queue = [];
    this.#orderType(id, false);
    for (const q of this.#queue) this.#emitType(q, 0);
  }

  // ---- pass 1: ordering --------------------------------------------------

  /** Returns true when the type is "strong" (its definition is needed, not just a name). */
  #orderType(id: number, throughPtr: boolean): boolean {
    this.#enter(id);
    try {
      return this.#orderTypeAt(id, throughPtr);
    } finally {
      this.#depth--;
    }
  }

  /**
   * Pointers, modifiers, arrays and prototypes are walked without marks (a
   * type may be reached many ways), so a crafted chain that loops back on
   * itself (a pointer to itself) would recurse forever: real types nest a
   * few dozen deep, so a walk this deep is refused.
   */
  #enter(id: number): void {
    if (++this.#depth > MAX_CHAIN) {
      throw new BtfError(`${this.#btf.name}: type [${id}] ${this.#btf.nameOf(id)} is reached through a chain of more than ${MAX_CHAIN} types (a cycle of pointers or modifiers)`);
    }
  }

  #orderTypeAt(id: number, throughPtr: boolean): boolean {
    if (id === 0) return false;
    const btf = this.#btf;
    const state = this.#order[id]!;
    if (state === Order.ORDERED) return true;
    const kind = btf.kindOf(id);
    const named = btf.nameOffOf(id) !== 0;
    if (state === Order.ORDERING) {
      if ((kind === BTF_KIND_STRUCT || kind === BTF_KIND_UNION) && throughPtr && named) return false;
      throw new BtfError(`${btf.name}: type [${id}] ${btf.nameOf(id)} is part of a cycle of embedded types (impossible in C)`);
    }
    switch (kind) {
      case BTF_KIND_INT: case BTF_KIND_FLOAT:
        this.#order[id] = Order.ORDERED;
        return false;
      case BTF_KIND_PTR: {
        const strong = this.#orderType(btf.sizeOrTypeOf(id), true);
        this.#order[id] = Order.ORDERED;
        return strong;
      }
      case BTF_KIND_ARRAY:
        return this.#orderType(btf.arrayType(id), false);
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        // Through a pointer a named struct needs only its name; an anonymous one is written inline, so it needs its members.
        if (throughPtr && named) return false;
        this.#order[id] = Order.ORDERING;
        const w = btf.memberWords(id);
        for (let i = 1; i < w.length; i += 3) this.#orderType(w[i]!, false);
        if (named) this.#queue.push(id);
        this.#order[id] = Order.ORDERED;
        return true;
      }
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: case BTF_KIND_FWD:
        if (named || !this.#referenced[id]) this.#queue.push(id);
        this.#order[id] = Order.ORDERED;
        return true;
      case BTF_KIND_TYPEDEF: {
        const strong = this.#orderType(btf.sizeOrTypeOf(id), throughPtr);
        if (throughPtr && !strong) return false;
        this.#queue.push(id);
        this.#order[id] = Order.ORDERED;
        return true;
      }
      case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
        return this.#orderType(btf.sizeOrTypeOf(id), throughPtr);
      case BTF_KIND_FUNC_PROTO: {
        const t = btf.type(id) as BtfFuncProto;
        let strong = this.#orderType(t.type, throughPtr);
        for (const p of t.params) if (this.#orderType(p.type, throughPtr)) strong = true;
        return strong;
      }
      default: // FUNC, VAR, DATASEC, DECL_TAG: nothing to declare
        this.#order[id] = Order.ORDERED;
        return false;
    }
  }

  // ---- pass 2: emission ----------------------------------------------------

  /** `contId`: the struct/typedef whose definition is being prepared (0 = `id` is a top-level definition). */
  #emitType(id: number, contId: number): void {
    if (id === 0) return;
    const btf = this.#btf;
    const state = this.#emit[id]!;
    if (state === Emit.EMITTED) return;
    const kind = btf.kindOf(id);
    const topLevel = contId === 0;
    const named = btf.nameOffOf(id) !== 0;
    if (topLevel && !named) {
      // Only anonymous enums are queued without a name: a list of constants.
      if (kind !== BTF_KIND_ENUM && kind !== BTF_KIND_ENUM64) return;
    }
    if (state === Emit.EMITTING) {
      if (this.#fwdEmitted[id]) return;
      if (kind === BTF_KIND_STRUCT || kind === BTF_KIND_UNION) {
        // A struct whose definition we are in the middle of refers to itself (through a pointer): its name is enough.
        if (id === contId) return;
        if (!named) throw new BtfError(`${btf.name}: anonymous struct/union [${id}] is part of a loop`);
        this.#write(`${this.#fwd(id)};\n\n`);
        this.#fwdEmitted[id] = 1;
      } else if (kind === BTF_KIND_TYPEDEF) {
        // The typedef is needed (through a pointer) while its target is being prepared: write it now.
        if (!this.#skipped(id)) this.#write(`${this.#typedefDef(id, 0)};\n\n`);
        this.#fwdEmitted[id] = 1;
      }
      return;
    }
    switch (kind) {
      case BTF_KIND_INT: case BTF_KIND_FLOAT:
        this.#emit[id] = Emit.EMITTED;
        break;
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
        if (topLevel) this.#write(`${this.#enumDef(id, 0)};\n\n`);
        this.#emit[id] = Emit.EMITTED;
        break;
      case BTF_KIND_PTR: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
        this.#emitType(btf.sizeOrTypeOf(id), contId);
        break;
      case BTF_KIND_ARRAY:
        this.#emitType(btf.arrayType(id), contId);
        break;
      case BTF_KIND_FWD:
        this.#write(`${this.#fwd(id)};\n\n`);
        this.#emit[id] = Emit.EMITTED;
        break;
      case BTF_KIND_TYPEDEF:
        this.#emit[id] = Emit.EMITTING;
        this.#emitType(btf.sizeOrTypeOf(id), id);
        if (!this.#fwdEmitted[id] && !this.#skipped(id)) this.#write(`${this.#typedefDef(id, 0)};\n\n`);
        this.#emit[id] = Emit.EMITTED;
        break;
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        this.#emit[id] = Emit.EMITTING;
        if (topLevel || !named) {
          // Written in full here: each member's type must be declared first.
          const w = btf.memberWords(id);
          for (let i = 1; i < w.length; i += 3) this.#emitType(w[i]!, named ? id : contId);
        } else if (!this.#fwdEmitted[id] && id !== contId) {
          this.#write(`${this.#fwd(id)};\n\n`);
          this.#fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.#write(`${this.#structDef(id, 0)};\n\n`);
          this.#emit[id] = Emit.EMITTED;
        } else {
          this.#emit[id] = Emit.NONE;
        }
        break;
      }
      case BTF_KIND_FUNC_PROTO: {
        const t = btf.type(id) as BtfFuncProto;
        this.#emitType(t.type, contId);
        for (const p of t.params) this.#emitType(p.type, contId);
        break;
      }
      default:
        break;
    }
  }

  /** The compiler's own built-ins: never redefined. */
  #skipped(id: number): boolean {
    return this.#btf.nameOf(id) === '__builtin_va_list';
  }

  // ---- names -----------------------------------------------------------------

  #dupCount(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  /** A struct/union/enum tag or a typedef name, with `___N` when an earlier, different type took the name. */
  #name(id: number): string {
    const cached = this.#names.get(id);
    if (cached !== undefined) return cached;
    const btf = this.#btf;
    const orig = btf.nameOf(id);
    const kind = btf.kindOf(id);
    let name = orig;
    // Forward declarations and empty enums always keep their name: they declare, they do not define.
    if (orig !== '' && kind !== BTF_KIND_FWD && !((kind === BTF_KIND_ENUM || kind === BTF_KIND_ENUM64) && btf.vlenOf(id) === 0)) {
      const n = this.#dupCount(kind === BTF_KIND_TYPEDEF ? this.#identCounts : this.#tagCounts, orig);
      if (n > 1) name = `${orig}___${n}`;
    }
    this.#names.set(id, name);
    return name;
  }

  #fwd(id: number): string {
    const btf = this.#btf;
    const kind = btf.kindOf(id);
    const isUnion = kind === BTF_KIND_UNION || (kind === BTF_KIND_FWD && btf.kindFlagOf(id));
    return `${isUnion ? 'union' : 'struct'} ${this.#name(id)}`;
  }

  // ---- definitions -------------------------------------------------------------

  #typedefDef(id: number, lvl: number): string {
    const btf = this.#btf;
    const name = this.#name(id);
    const target = btf.sizeOrTypeOf(id);
    // Old GCCs describe __gnuc_va_list as a typedef of void.
    if (target === 0 && name === '__gnuc_va_list') return 'typedef __builtin_va_list __gnuc_va_list';
    return `typedef ${this.#decl(target, name, lvl)}`;
  }

  #enumDef(id: number, lvl: number): string {
    const btf = this.#btf;
    const t = btf.decode(id) as BtfEnum | BtfEnum64;
    const name = t.name ? this.#name(id) : '';
    let s = `enum${name ? ` ${name}` : ''}`;
    if (t.values.length === 0) return s;
    s += ' {';
    let fits32 = true;
    for (const v of t.values) {
      // Enumerators share the identifier namespace with typedefs.
      const n = this.#dupCount(this.#identCounts, v.name);
      const vname = n > 1 ? `${v.name}___${n}` : v.name;
      let value: string;
      if (t.kind === BTF_KIND_ENUM64) {
        const big = BigInt(v.value);
        if (big > 0xffffffffn || big < -0x80000000n) fits32 = false;
        value = t.signed ? `${big}LL` : `${big}ULL`;
      } else {
        value = String(v.value);
      }
      s += `\n${pfx(lvl + 1)}${vname} = ${value},`;
    }
    s += `\n${pfx(lvl)}}`;
    // ISO C enums are int-sized: other sizes need GCC's mode attribute.
    if (t.size === 1) s += ' __attribute__((mode(byte)))';
    else if (t.size === 2) s += ' __attribute__((mode(HI)))';
    else if (t.size === 8 && (t.kind === BTF_KIND_ENUM || fits32)) s += ' __attribute__((mode(word)))';
    return s;
  }

  /** alignof(id), memoized (1 when it cannot be taken: void, functions). */
  #align(id: number): number {
    const known = this.#aligns[id]!;
    if (known) return known - 1;
    const a = safeAlign(this.#btf, id);
    this.#aligns[id] = a + 1;
    return a;
  }

  /** Whether a struct's members sit off their natural alignment (it was declared packed). */
  #isPacked(t: BtfComposite): boolean {
    let max = 1;
    for (const m of t.members) {
      const a = this.#align(m.type);
      if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return true;
      max = Math.max(max, a);
    }
    return t.size % max !== 0;
  }

  /** Explicit padding so that the next member lands at bit `next` (from `cur`), as btf_dump writes it. */
  #padding(cur: number, next: number, nextAlign: number, inBitfield: boolean, lvl: number): string {
    if (cur >= next) return '';
    let s = '';
    let padBits = 0;
    let padType = '';
    let newOff = cur;
    for (const [type, bits] of PADS) {
      padBits = bits;
      padType = type;
      newOff = Math.ceil(cur / bits) * bits;
      if (newOff <= next) break;
    }
    if (newOff > cur && newOff <= next) {
      // `type: 0` forces the alignment when the compiler would not align there on its own;
      // inside a run of bitfields the gap is written as a bit count instead.
      if (inBitfield || (newOff === next && Math.ceil(cur / (nextAlign * 8)) * nextAlign * 8 !== newOff) || (newOff !== next && next - newOff <= newOff - cur))
        s += `\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - cur : 0};`;
      cur = newOff;
    }
    while (cur !== next) {
      const bits = Math.min(next - cur, padBits);
      if (bits === padBits) {
        s += `\n${pfx(lvl)}${padType}: ${padBits};`;
        cur += bits;
        continue;
      }
      // The remainder: the smallest type that holds it.
      for (let i = PADS.length - 1; i >= 0; i--) {
        const [type, pb] = PADS[i]!;
        if (pb < bits) continue;
        s += `\n${pfx(lvl)}${type}: ${bits};`;
        cur += bits;
        break;
      }
    }
    return s;
  }

  #structDef(id: number, lvl: number): string {
    const btf = this.#btf;
    const t = btf.decode(id) as BtfComposite;
    const isStruct = t.kind === BTF_KIND_STRUCT;
    const packed = isStruct && this.#isPacked(t);
    const name = t.name ? this.#name(id) : '';
    let s = `${isStruct ? 'struct' : 'union'}${name ? ` ${name}` : ''} {`;
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const bits = m.bitfieldSize || legacyBitfield(btf, m.type);
      const align = packed ? 1 : this.#align(m.type);
      s += this.#padding(off, m.bitOffset, align, prevBitfield && bits !== 0, lvl + 1);
      s += `\n${pfx(lvl + 1)}${this.#decl(m.type, m.name, lvl + 1)}`;
      if (bits) {
        s += `: ${bits}`;
        off = m.bitOffset + bits;
        prevBitfield = true;
      } else {
        off = m.bitOffset + Math.max(0, safeSize(btf, m.type)) * 8;
        prevBitfield = false;
      }
      s += ';';
    }
    if (isStruct) s += this.#padding(off, t.size * 8, packed ? 1 : this.#align(id), false, lvl + 1);
    s += t.members.length ? `\n${pfx(lvl)}}` : '}';
    if (packed) s += ' __attribute__((packed))';
    return s;
  }

  // ---- declarators -------------------------------------------------------------

  /**
   * The C declaration of `inner` (a name, possibly already wrapped in
   * declarator syntax such as "*p" or "a[4]") of type `id`, read inside-out as
   * C declarators are. Anonymous structs, unions and enums are written inline.
   */
  #decl(id: number, inner: string, lvl: number): string {
    this.#enter(id);
    try {
      return this.#declAt(id, inner, lvl);
    } finally {
      this.#depth--;
    }
  }

  #declAt(id: number, inner: string, lvl: number): string {
    const btf = this.#btf;
    if (id === 0) return join('void', inner);
    const kind = btf.kindOf(id);
    switch (kind) {
      case BTF_KIND_INT: case BTF_KIND_FLOAT:
        return join(btf.nameOf(id), inner);
      case BTF_KIND_TYPEDEF:
        return join(this.#name(id), inner);
      case BTF_KIND_STRUCT: case BTF_KIND_UNION:
        return join(btf.nameOffOf(id) ? `${kind === BTF_KIND_STRUCT ? 'struct' : 'union'} ${this.#name(id)}` : this.#structDef(id, lvl), inner);
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
        return join(btf.nameOffOf(id) ? `enum ${this.#name(id)}` : this.#enumDef(id, lvl), inner);
      case BTF_KIND_FWD:
        return join(this.#fwd(id), inner);
      case BTF_KIND_PTR: {
        const target = btf.sizeOrTypeOf(id);
        // Pointers to arrays and functions need parentheses: "int (*p)[4]", "void (*f)(int)".
        const under = skipQualifiersKeepTypedefs(btf, target);
        const k = under === 0 ? 0 : btf.kindOf(under);
        const wrap = k === BTF_KIND_ARRAY || k === BTF_KIND_FUNC_PROTO;
        // Spacing as bpftool's: "char *p", "char **p", but "char * const p" and "char * (*f)(void)".
        const star = /^(\(|const\b|volatile\b|restrict\b)/.test(inner) ? `* ${inner}` : `*${inner}`;
        return this.#decl(target, wrap ? `(${star})` : star, lvl);
      }
      case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT: {
        const q = kind === BTF_KIND_CONST ? 'const' : kind === BTF_KIND_VOLATILE ? 'volatile' : 'restrict';
        const target = btf.sizeOrTypeOf(id);
        // A qualified pointer is written after its star: "char * const p".
        if (target !== 0 && btf.kindOf(target) === BTF_KIND_PTR) return this.#decl(target, inner ? `${q} ${inner}` : q, lvl);
        const rest = this.#decl(target, inner, lvl);
        // A const array of const elements is one `const` in C.
        return rest.startsWith(`${q} `) ? rest : `${q} ${rest}`;
      }
      case BTF_KIND_TYPE_TAG:
        // Type tags (__user, __rcu, __percpu) are kernel annotations; like bpftool 7.1 we leave them out.
        return this.#decl(btf.sizeOrTypeOf(id), inner, lvl);
      case BTF_KIND_ARRAY:
        return this.#decl(btf.arrayType(id), `${inner}[${btf.arrayNelems(id)}]`, lvl);
      case BTF_KIND_FUNC_PROTO: {
        const t = btf.type(id) as BtfFuncProto;
        let params: string;
        if (t.params.length === 0) params = 'void';
        else {
          const ps: string[] = [];
          t.params.forEach((p, i) => {
            if (i === t.params.length - 1 && p.type === 0) ps.push('...');
            else ps.push(this.#decl(p.type, p.name, lvl));
          });
          params = ps.join(', ');
        }
        return this.#decl(t.type, `${inner}(${params})`, lvl);
      }
      case BTF_KIND_FUNC: case BTF_KIND_VAR:
        return this.#decl(btf.sizeOrTypeOf(id), inner || btf.nameOf(id), lvl);
      default:
        throw new BtfError(`${btf.name}: type [${id}] of kind ${kind} cannot be written as a C declaration`);
    }
  }
}

function join(base: string, inner: string): string {
  if (!inner) return base;
  return `${base} ${inner}`;
}

function skipQualifiersKeepTypedefs(btf: Btf, id: number): number {
  for (let n = 0; n < 32 && id !== 0; n++) {
    const k = btf.kindOf(id);
    if (k !== BTF_KIND_CONST && k !== BTF_KIND_VOLATILE && k !== BTF_KIND_RESTRICT && k !== BTF_KIND_TYPE_TAG) return id;
    id = btf.sizeOrTypeOf(id);
  }
  return id;
}

/** A bitfield spelled the old way (no kind_flag): an INT member narrower than its storage. */
function legacyBitfield(btf: Btf, id: number): number {
  if (btf.kindOf(id) !== BTF_KIND_INT) return 0;
  const t = btf.type(id);
  return t.kind === BTF_KIND_INT && t.bits !== t.size * 8 ? t.bits : 0;
}

function safeAlign(btf: Btf, id: number): number {
  try {
    return alignof(btf, id);
  } catch {
    return 1;
  }
}

function safeSize(btf: Btf, id: number): number {
  try {
    return sizeof(btf, id);
  } catch {
    return 0;
  }
}

