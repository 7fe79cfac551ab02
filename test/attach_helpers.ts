// Hand-assembled programs and a tiny counter map for the attach tests (used
// until bpf/attach.bpf.o and the object loader are available, and kept after
// as loader-independent checks).
import { FD, MapElemCommands, mapCreate } from '../src/syscall/index.ts';
import { BPF_ALU64, BPF_DW, BPF_JMP, BPF_K, BPF_W, BpfProgType, Program, asm, encodeInsns, type Insn } from '../src/prog/index.ts';
import { BPF_JNE, BPF_RSH, BpfFuncId, MapType } from '../src/uapi/index.ts';

const { BPF_FUNC_map_lookup_elem: FN_map_lookup_elem, BPF_FUNC_get_current_pid_tgid: FN_get_current_pid_tgid } = BpfFuncId;
const { BPF_MAP_TYPE_ARRAY } = MapType;

/** An ARRAY map of `slots` u64 counters, read from user space. */
export class Counters {
  readonly fd: FD;
  readonly #cmds: MapElemCommands;
  constructor(readonly slots = 4) {
    this.fd = mapCreate({ map_type: BPF_MAP_TYPE_ARRAY, key_size: 4, value_size: 8, max_entries: slots, map_name: 'counters' }, 'creating test counters');
    this.#cmds = new MapElemCommands(this.fd.value, 'test counters');
  }
  get(slot = 0): bigint {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(slot);
    const v = Buffer.alloc(8);
    this.#cmds.lookup(key, v);
    return v.readBigUInt64LE();
  }
  reset(): void {
    for (let i = 0; i < this.slots; i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      this.#cmds.update(key, Buffer.alloc(8));
    }
  }
  close(): void {
    this.fd.close();
  }
}

/** counters[slot] += 1, optionally only when the current tgid is `pid`. Clobbers r0-r5. */
export function countInsns(mapFd: number, slot = 0, pid?: number): Insn[] {
  const body: Insn[] = [
    asm.stMem(BPF_W, 10, -4, slot),
    asm.mov64Reg(2, 10),
    asm.add64Imm(2, -4),
    ...asm.ldMapFd(1, mapFd),
    asm.call(FN_map_lookup_elem),
    asm.jeqImm(0, 0, 2),
    asm.mov64Imm(1, 1),
    asm.atomicAdd64(0, 1, 0),
  ];
  if (pid === undefined) return body;
  return [
    asm.call(FN_get_current_pid_tgid),
    { code: BPF_ALU64 | BPF_RSH | BPF_K, dst: 0, src: 0, off: 0, imm: 32 },
    { code: BPF_JMP | BPF_JNE | BPF_K, dst: 0, src: 0, off: body.length, imm: pid },
    ...body,
  ];
}

/** A program of `type` that counts its runs (by `pid` when given) and returns `ret`. */
export function counterProgram(type: BpfProgType, mapFd: number, opts: { pid?: number; slot?: number; ret?: number; name?: string } = {}): Program {
  const insns = [...countInsns(mapFd, opts.slot ?? 0, opts.pid), asm.mov64Imm(0, opts.ret ?? 0), asm.exit()];
  return Program.load({ name: opts.name ?? 'counter', type, insns: encodeInsns(insns), license: 'GPL' });
}

/**
 * A kprobe-type program (uprobe) that stores PT_REGS_PARM1 (rdi, pt_regs
 * offset 112) into counters[1] and PT_REGS_RC (rax, offset 80) into
 * counters[2], and counts runs in counters[0], for the test's own binary.
 */
export function uprobeRecorder(mapFd: number, what: 'arg' | 'ret', name = 'uprobe_rec'): Program {
  const regOff = what === 'arg' ? 112 : 80;
  const slot = what === 'arg' ? 1 : 2;
  const insns: Insn[] = [
    asm.ldxMem(BPF_DW, 6, 1, regOff), // r6 = ctx->di / ctx->ax
    ...countInsns(mapFd, 0),
    asm.stMem(BPF_W, 10, -4, slot),
    asm.mov64Reg(2, 10),
    asm.add64Imm(2, -4),
    ...asm.ldMapFd(1, mapFd),
    asm.call(FN_map_lookup_elem),
    asm.jeqImm(0, 0, 1),
    asm.stxMem(BPF_DW, 0, 6, 0),
    asm.mov64Imm(0, 0),
    asm.exit(),
  ];
  return Program.load({ name, type: BpfProgType.BPF_PROG_TYPE_KPROBE, insns: encodeInsns(insns), license: 'GPL' });
}
