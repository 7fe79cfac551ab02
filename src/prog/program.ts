// A live BPF program: BPF_PROG_LOAD with the verifier-log policy, test runs,
// info and pinning. The object loader turns each ProgramSpec into one of these.
import { createLog } from '../util/log.ts';
import {
  BpfCmd,
  ENOSPC,
  FD,
  ProgInfo,
  ProgLoadAttr,

  getFdById,
  getNextId,
  objGet,
  objGetInfo,
  objPin,
  progLoadRaw,
  progTestRun,
} from '../syscall/index.ts';
import { DISPOSE } from '../util/dispose.ts';
import { ProgramLoadError } from './errors.ts';
import type { LoadOptions, ProgramSpec } from './spec.ts';
import { BPF_INSN_SIZE, BpfProgType } from './types.ts';
import { UsageError } from '../errors.ts';
import { BPF_F_TOKEN_FD } from '../uapi/kernel.ts';

const log = createLog('tsbpf:prog');

const LOG_SIZE_START = 256 * 1024;
const LOG_SIZE_MAX = 16 * 1024 * 1024;

export interface ProgramInfo {
  id: number;
  type: BpfProgType;
  name: string;
  /** The kernel's hash of the loaded instructions (map fds zeroed), hex. */
  tag: string;
  xlatedLen: number;
  jitedLen: number;
  mapIds: number[];
  btfId: number;
  runCnt: bigint;
  runTimeNs: bigint;
  verifiedInsns: number;
  loadTime: bigint;
}

export interface TestRunOptions {
  dataIn?: Uint8Array;
  /** Size of the buffer for data_out (0 = none). */
  dataOutSize?: number;
  ctxIn?: Uint8Array;
  ctxOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
}

export interface TestRunResult {
  retval: number;
  /** Average run time in ns as the kernel measured it. */
  duration: number;
  dataOut?: Uint8Array;
  ctxOut?: Uint8Array;
}

export class Program {
  readonly #fd: FD;
  readonly name: string;
  readonly type: BpfProgType;
  /** The verifier log of a successful load with `alwaysLog`, else ''. */
  readonly verifierLog: string;

  private constructor(fd: FD, name: string, type: BpfProgType, verifierLog = '') {
    this.#fd = fd;
    this.name = name;
    this.type = type;
    this.verifierLog = verifierLog;
  }

  /**
   * BPF_PROG_LOAD. The first attempt carries no log buffer (the verifier runs
   * faster without one); if it fails, the load is repeated with a log so the
   * error can say why. The buffer grows on ENOSPC, to the size the kernel
   * reports in log_true_size when it reports one (6.4+), else by 4x, up to a cap.
   */
  static load(spec: ProgramSpec, options: LoadOptions = {}): Program {
    if (spec.insns.length === 0 || spec.insns.length % BPF_INSN_SIZE !== 0)
      throw new UsageError(`program "${spec.name}": instruction stream of ${spec.insns.length} bytes is not a whole number of 8-byte instructions`);
    const license = Buffer.from(spec.license + '\0');
    const attr = ProgLoadAttr.create({
      prog_type: spec.type,
      insn_cnt: spec.insns.length / BPF_INSN_SIZE,
      insns: spec.insns,
      license,
      kern_version: spec.kernVersion ?? 0,
      prog_flags: spec.flags ?? 0,
      prog_name: spec.name.slice(0, 15),
      expected_attach_type: spec.expectedAttachType ?? 0,
      attach_btf_id: spec.attachBtfId ?? 0,
      attach_btf_obj_fd: spec.attachProgFd ?? spec.attachBtfObjFd ?? 0,
      prog_ifindex: spec.ifindex ?? 0,
    });
    if (spec.tokenFd !== undefined) attr.assign({ prog_token_fd: spec.tokenFd, prog_flags: (spec.flags ?? 0) | BPF_F_TOKEN_FD });
    if (spec.btf) {
      const b = spec.btf;
      attr.set('prog_btf_fd', b.btfFd);
      if (b.funcInfo && b.funcInfo.length > 0) {
        attr.assign({ func_info: b.funcInfo, func_info_rec_size: b.funcInfoRecSize!, func_info_cnt: b.funcInfo.length / b.funcInfoRecSize! });
      }
      if (b.lineInfo && b.lineInfo.length > 0) {
        attr.assign({ line_info: b.lineInfo, line_info_rec_size: b.lineInfoRecSize!, line_info_cnt: b.lineInfo.length / b.lineInfoRecSize! });
      }
    }
    let fdArray: Int32Array | undefined;
    if (spec.fdArray && spec.fdArray.length > 0) {
      fdArray = Int32Array.from(spec.fdArray);
      attr.set('fd_array', fdArray);
    }
    const logLevel = options.logLevel ?? 1;
    const logMax = options.logSizeMax ?? LOG_SIZE_MAX;
    log('BPF_PROG_LOAD "%s" type %s, %d insns', spec.name, BpfProgType[spec.type], spec.insns.length / 8);

    let logBuf: Buffer | null = null;
    if (options.alwaysLog) {
      logBuf = Buffer.alloc(LOG_SIZE_START);
      attr.assign({ log_level: logLevel || 1, log_size: logBuf.length, log_buf: logBuf });
    }
    let r = progLoadRaw(attr);
    if (r.ret < 0 && !logBuf && logLevel > 0) {
      log('"%s" failed (errno %d); reloading with a verifier log (level %d)', spec.name, r.errno, logLevel);
      logBuf = Buffer.alloc(LOG_SIZE_START);
      attr.assign({ log_level: logLevel, log_size: logBuf.length, log_buf: logBuf });
      r = progLoadRaw(attr);
    }
    // Grow the log until it holds the whole story (or hits the cap).
    while (r.ret < 0 && r.errno === ENOSPC && logBuf && logBuf.length < logMax) {
      const trueSize = attr.get('log_true_size');
      const next = Math.min(logMax, trueSize > logBuf.length ? trueSize : logBuf.length * 4);
      log('verifier log of %d bytes too small; retrying with %d', logBuf.length, next);
      logBuf = Buffer.alloc(next);
      attr.assign({ log_size: logBuf.length, log_buf: logBuf, log_true_size: 0 });
      r = progLoadRaw(attr);
    }
    const text = logBuf ? cString(logBuf) : '';
    // keep buffers referenced by the attr alive until here
    void license;
    void fdArray;
    if (r.ret < 0) {
      const notes = options.explain?.(text) ?? '';
      throw new ProgramLoadError(spec.name, spec.sectionName, r.errno, text, notes, options.object);
    }
    log('loaded "%s" as fd %d', spec.name, r.ret);
    return new Program(new FD(r.ret, `program ${spec.name}`), spec.name, spec.type, options.alwaysLog ? text : '');
  }

  /** Open a program by its kernel id (BPF_PROG_GET_FD_BY_ID). */
  static fromId(id: number): Program {
    const fd = getFdById(BpfCmd.BPF_PROG_GET_FD_BY_ID, id);
    try {
      const info = objGetInfo(fd.value, ProgInfo, `reading info of program id ${id}`);
      return new Program(fd, info.get('name'), info.get('type'));
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  /** Open a program pinned on bpffs. */
  static fromPinned(path: string): Program {
    const fd = objGet(path, 0, `opening pinned program ${path}`);
    try {
      const info = objGetInfo(fd.value, ProgInfo, `reading info of pinned program ${path}`);
      return new Program(fd, info.get('name'), info.get('type'));
    } catch (e) {
      fd.close();
      throw e;
    }
  }

  get fd(): number {
    return this.#fd.value;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** BPF_OBJ_GET_INFO_BY_FD, decoded. */
  info(): ProgramInfo {
    const first = objGetInfo(this.fd, ProgInfo, `reading info of program "${this.name}"`);
    const nrMaps = first.get('nr_map_ids');
    let mapIds: number[] = [];
    if (nrMaps > 0) {
      const ids = new Uint32Array(nrMaps);
      objGetInfo(this.fd, ProgInfo, `reading map ids of program "${this.name}"`, { nr_map_ids: nrMaps, map_ids: ids });
      mapIds = Array.from(ids);
    }
    return {
      id: first.get('id'),
      type: first.get('type'),
      name: first.get('name'),
      tag: Buffer.from(first.get('tag')).toString('hex'),
      xlatedLen: first.get('xlated_prog_len'),
      jitedLen: first.get('jited_prog_len'),
      mapIds,
      btfId: first.get('btf_id'),
      runCnt: first.get('run_cnt'),
      runTimeNs: first.get('run_time_ns'),
      verifiedInsns: first.get('verified_insns'),
      loadTime: first.get('load_time'),
    };
  }

  /** The kernel's program tag (hex), the identity used to compare loaders. */
  tag(): string {
    return this.info().tag;
  }

  /** BPF_PROG_TEST_RUN */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    const dataOut = opts.dataOutSize ? Buffer.alloc(opts.dataOutSize) : null;
    const ctxOut = opts.ctxOutSize ? Buffer.alloc(opts.ctxOutSize) : null;
    const attr = progTestRun(
      {
        prog_fd: this.fd,
        data_in: opts.dataIn ?? null,
        data_size_in: opts.dataIn?.length ?? 0,
        data_out: dataOut,
        data_size_out: dataOut?.length ?? 0,
        ctx_in: opts.ctxIn ?? null,
        ctx_size_in: opts.ctxIn?.length ?? 0,
        ctx_out: ctxOut,
        ctx_size_out: ctxOut?.length ?? 0,
        repeat: opts.repeat ?? 0,
        flags: opts.flags ?? 0,
        cpu: opts.cpu ?? 0,
      },
      `test-running program "${this.name}"`,
    );
    return {
      retval: attr.get('retval'),
      duration: attr.get('duration'),
      dataOut: dataOut ? dataOut.subarray(0, attr.get('data_size_out')) : undefined,
      ctxOut: ctxOut ? ctxOut.subarray(0, attr.get('ctx_size_out')) : undefined,
    };
  }

  /** Pin on bpffs. */
  pin(path: string): void {
    objPin(this.fd, path, `pinning program "${this.name}" at ${path}`);
  }

  close(): void {
    this.#fd.close();
  }

  /** close(), for `using` (explicit resource management). */
  [DISPOSE](): void {
    this.close();
  }
}

/** Ids of every program loaded in the kernel (BPF_PROG_GET_NEXT_ID). Read-only listing: never close what you did not create. */
export function listProgramIds(): number[] {
  const ids: number[] = [];
  for (let id = getNextId(BpfCmd.BPF_PROG_GET_NEXT_ID, 0); id !== 0; id = getNextId(BpfCmd.BPF_PROG_GET_NEXT_ID, id)) ids.push(id);
  return ids;
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
}

