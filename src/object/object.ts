// BpfObject: the lifecycle of one `.bpf.o`, as a libbpf user knows it:
//   open (parse; customise programs, maps and globals) -> load -> attach -> destroy.
// Loading follows libbpf's bpf_object__load, with CO-RE ahead of map creation:
//   1. BTF: fix DATASEC layouts and extern entries, sanitize for this kernel, BPF_BTF_LOAD
//   2. externs: .kconfig values, __ksym and kfunc BTF ids / addresses (vmlinux, then modules)
//   3. CO-RE: relocate every function against the kernel's BTF
//   4. maps: reuse pinned ones, create the rest, fill and freeze global data;
//      struct_ops maps resolved against the kernel's struct (struct_ops.ts)
//   5. programs: link subprograms, point map/extern references at fds, BPF_PROG_LOAD
//   6. initial slots of prog arrays and map-in-maps; mmap global data; the
//      struct_ops values (program fds in place), written when attached
// Any failure releases everything created so far.
import { createLog } from '../util/log.ts';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { kernelModuleBtfNames, loadKernelBtf, loadModuleBtf, marshalBtf, openModuleBtfFds, parseBtf, sanitizeBtf, type Btf, BTF_KIND_FUNC, BTF_KIND_TYPEDEF } from '../btf/index.ts';
import { loadBtfIntoKernel } from '../btf/load.ts';
import { btfFeatures, hasFeatureOverrides } from '../features/index.ts';
import { BpfMap, BPF_F_MMAPABLE, effectiveMaxEntries, MapError, MapType, mapTypeName, type MapSpec } from '../maps/index.ts';
import { BPF_PSEUDO_BTF_ID, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from '../prog/insn.ts';
import { Program, type LoadOptions } from '../prog/index.ts';
import { BpfAttachType, BpfProgType } from '../prog/types.ts';
import { FD, tokenCreate } from '../syscall/index.ts';
import { AttachError, attachesByName, attachTarget, destroyLinks, Link, parseAttachTarget, USDT_IP_MAP, USDT_SPECS_MAP, UsdtManager, type AttachTarget, type AutoAttachOptions, type UsdtLink, type UsdtOptions } from '../attach/index.ts';
import { numPossibleCpus } from '../util/cpus.ts';
import { applyCore, resultAt, type CoreOutcome } from './core.ts';
import { patchObjectBtf } from './btf_fixup.ts';
import { ObjectError } from './errors.ts';
import { NotSupportedError, TsbpfError, UsageError } from '../errors.ts';
import { resolveExterns, type ResolvedExterns } from './externs.ts';
import { GlobalData } from './globals.ts';
import { encodeFuncInfo, encodeLineInfo, linkProgram, type LinkedProgram } from './linker.ts';
import { objectNameOf, parseObject } from './parse.ts';
import type { CollectionSpec, FunctionSpec, ObjectMapSpec, ObjectProgramSpec } from './spec.ts';
import { explainFailure } from './explain.ts';
import { buildStructOpsValue, resolveStructOps, type StructOpsLayout } from './struct_ops.ts';
import { attachStructOps } from '../attach/struct_ops.ts';
import { copyBytes } from '../util/bytes.ts';
import { ASYNC_DISPOSE, DISPOSE } from '../util/dispose.ts';
import { step } from '../util/pipeline.ts';
import { PAGE_SIZE } from '../uapi/arch.ts';

const log = createLog('tsbpf:object');

export interface OpenOptions {
  /** Name used in messages and internal map names (default: from the file name). */
  name?: string;
  /** Directory for LIBBPF_PIN_BY_NAME maps (default /sys/fs/bpf). */
  pinRoot?: string;
  /** vmlinux BTF to relocate against instead of the running kernel's (cross-kernel CO-RE, tests). */
  kernelBtfPath?: string;
  /** kconfig values overriding the kernel config ("CONFIG_HZ": "250"). */
  kconfig?: Record<string, string>;
  /** Path of a kernel .config to read instead of /proc/config.gz or /boot/config-<release>. */
  kconfigPath?: string;
  /** Default verifier log level for failed loads (1). */
  logLevel?: number;
  /**
   * A bpffs mounted with delegate_* options (Linux 6.9+): load() creates a
   * BPF token from it and passes it to BTF load, map creation and program
   * load, so an unprivileged user namespace that owns the mount can load
   * (libbpf's bpf_token_path). Default: $LIBBPF_BPF_TOKEN_PATH when set.
   */
  bpfTokenPath?: string;
}

/** Where an object is in its lifecycle. Its handles ask it: settings are taken before load, kernel objects exist after. */
export type ObjectState = 'opened' | 'loaded' | 'destroyed';

/** The UsageError for a setting changed once the object is past open. */
function lateSetting(what: string, setting: string, state: ObjectState): UsageError {
  return new UsageError(`${what}: ${setting} is a load-time setting and the object is already ${state}; set it between open() and load()`);
}

/** The UsageError for a kernel object asked for before load() or after destroy(). */
function notLive(what: string, state: ObjectState, otherwise: string): UsageError {
  if (state === 'opened') return new UsageError(`${what} does not exist before load(): call load() first`);
  if (state === 'destroyed') return new UsageError(`${what}: the object was destroyed (or its load() failed); open it again`);
  return new UsageError(`${what} ${otherwise}`);
}

/**
 * One program of an opened object: its spec, settings changeable between
 * open() and load() (a UsageError after), and the live Program after load.
 */
export class ObjectProgram {
  readonly #state: () => ObjectState;
  #prog: Program | undefined;
  #autoload = true;
  #type: BpfProgType;
  #expectedAttachType: BpfAttachType | 0;
  #flags: number;
  #logLevel: number | undefined;
  #alwaysLog = false;
  #attachTarget: string;
  #ifindex = 0;
  /** What CO-RE did to this program's instructions (after load). */
  coreOutcomes: CoreOutcome[] = [];
  /** The final instruction stream given to the kernel (after load). */
  insns: Uint8Array | undefined;

  constructor(
    readonly spec: ObjectProgramSpec,
    /** The owning object's lifecycle state. */
    state: () => ObjectState = () => 'opened',
  ) {
    this.#state = state;
    this.#type = spec.type;
    this.#expectedAttachType = spec.expectedAttachType;
    this.#flags = spec.flags;
    this.#attachTarget = spec.attachTarget;
  }

  #setting(setting: string): void {
    const state = this.#state();
    if (state !== 'opened') throw lateSetting(`program "${this.name}"`, setting, state);
  }

  get name(): string {
    return this.spec.name;
  }
  get sectionName(): string {
    return this.spec.sectionName;
  }

  /** Load this program with the object (default true). */
  get autoload(): boolean {
    return this.#autoload;
  }
  set autoload(v: boolean) {
    this.#setting('autoload');
    this.#autoload = v;
  }
  get type(): BpfProgType {
    return this.#type;
  }
  set type(v: BpfProgType) {
    this.#setting('type');
    this.#type = v;
  }
  get expectedAttachType(): BpfAttachType | 0 {
    return this.#expectedAttachType;
  }
  set expectedAttachType(v: BpfAttachType | 0) {
    this.#setting('expectedAttachType');
    this.#expectedAttachType = v;
  }
  get flags(): number {
    return this.#flags;
  }
  set flags(v: number) {
    this.#setting('flags');
    this.#flags = v;
  }
  /** Verifier log level used on failure (or always, with alwaysLog). */
  get logLevel(): number | undefined {
    return this.#logLevel;
  }
  set logLevel(v: number | undefined) {
    this.#setting('logLevel');
    this.#logLevel = v;
  }
  get alwaysLog(): boolean {
    return this.#alwaysLog;
  }
  set alwaysLog(v: boolean) {
    this.#setting('alwaysLog');
    this.#alwaysLog = v;
  }
  /**
   * Override of the attach target given by the section name (e.g. a
   * tracepoint "cat/name"). Programs whose target is resolved at load
   * (tp_btf, fentry, lsm, iter, ...) take it before load() only; the others
   * (tracepoints, probes) until destroy(), as it is read at attach time.
   */
  get attachTarget(): string {
    return this.#attachTarget;
  }
  set attachTarget(v: string) {
    const state = this.#state();
    if (state === 'destroyed' || (state === 'loaded' && this.spec.def.needsAttachBtfId)) throw lateSetting(`program "${this.name}"`, 'attachTarget', state);
    this.#attachTarget = v;
  }
  /** Network device for XDP dev-bound / offloaded programs. */
  get ifindex(): number {
    return this.#ifindex;
  }
  set ifindex(v: number) {
    this.#setting('ifindex');
    this.#ifindex = v;
  }

  /** True while the program exists in the kernel: after load() (when autoloaded), until destroy(). */
  get loaded(): boolean {
    return this.#prog !== undefined;
  }

  /** The loaded program. A UsageError before load(), after destroy(), or when autoload was off. */
  get prog(): Program {
    if (this.#prog === undefined) throw notLive(`program "${this.name}"`, this.#state(), 'was not loaded: its autoload is off');
    return this.#prog;
  }

  /** What auto-attach attaches to: the section's target, or attachTarget's when it was changed. */
  get target(): AttachTarget {
    return this.attachTarget === this.spec.attachTarget ? this.spec.target : parseAttachTarget(this.spec.def, this.attachTarget);
  }

  get fd(): number {
    return this.prog.fd;
  }

  /** @internal Set by BpfObject.load(). */
  bind(prog: Program): void {
    this.#prog = prog;
  }

  /** @internal BpfObject: close the program (destroy, or a failed load). */
  release(): void {
    this.#prog?.close();
    this.#prog = undefined;
  }
}

/**
 * One map of an opened object: settings changeable between open() and load()
 * (a UsageError after), and the live BpfMap after load.
 */
export class ObjectMap {
  readonly #state: () => ObjectState;
  #map: BpfMap | undefined;
  #maxEntries: number;
  #flags: number;
  #numaNode: number | undefined;
  #pinPath: string | undefined;
  #reuse: BpfMap | undefined;
  #innerSpec: MapSpec | undefined;
  #autocreate = true;
  /** True when the map came from a pin instead of being created. */
  reusedPin = false;
  /** struct_ops maps (after load): the kernel layout, and the value attach() writes to register it. */
  structOpsLayout: StructOpsLayout | undefined;
  structOpsValue: Uint8Array | undefined;

  constructor(
    readonly spec: ObjectMapSpec,
    pinRoot: string,
    /** The owning object's lifecycle state. */
    state: () => ObjectState = () => 'opened',
  ) {
    this.#state = state;
    this.#maxEntries = spec.spec.maxEntries;
    this.#flags = spec.spec.flags;
    this.#numaNode = spec.spec.numaNode;
    this.#pinPath = spec.pinByName ? join(pinRoot, spec.name) : undefined;
    this.#innerSpec = spec.inner ? { ...spec.inner.spec } : undefined; // a setting of its own, not the spec's
  }

  #setting(setting: string): void {
    const state = this.#state();
    if (state !== 'opened') throw lateSetting(`map "${this.name}"`, setting, state);
  }

  get name(): string {
    return this.spec.name;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }
  set maxEntries(v: number) {
    this.#setting('maxEntries');
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UsageError(`map "${this.name}": maxEntries must be a u32, got ${v}`);
    this.#maxEntries = v;
  }
  get flags(): number {
    return this.#flags;
  }
  set flags(v: number) {
    this.#setting('flags');
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UsageError(`map "${this.name}": flags must be a u32, got ${v}`);
    this.#flags = v;
  }
  get numaNode(): number | undefined {
    return this.#numaNode;
  }
  set numaNode(v: number | undefined) {
    this.#setting('numaNode');
    this.#numaNode = v;
  }
  /** Pin path; set from the pin root for LIBBPF_PIN_BY_NAME maps; set it to pin any map. */
  get pinPath(): string | undefined {
    return this.#pinPath;
  }
  set pinPath(v: string | undefined) {
    this.#setting('pinPath');
    this.#pinPath = v;
  }
  /** Use this existing map instead of creating one (libbpf's bpf_map__reuse_fd). */
  get reuse(): BpfMap | undefined {
    return this.#reuse;
  }
  set reuse(v: BpfMap | undefined) {
    this.#setting('reuse');
    this.#reuse = v;
  }
  /**
   * Create this map at load (libbpf's bpf_map__set_autocreate). Off: the map
   * is left out, and every autoloaded program that references it fails the
   * load with an ObjectError naming both (turn their autoload off too).
   */
  get autocreate(): boolean {
    return this.#autocreate;
  }
  set autocreate(v: boolean) {
    this.#setting('autocreate');
    this.#autocreate = v;
  }
  /** Inner map template for map-in-map (override). */
  get innerSpec(): MapSpec | undefined {
    return this.#innerSpec;
  }
  set innerSpec(v: MapSpec | undefined) {
    this.#setting('innerSpec');
    this.#innerSpec = v;
  }

  /** True while the map exists: after load(), until destroy(). */
  get loaded(): boolean {
    return this.#map !== undefined;
  }

  /** The live map. A UsageError before load() or after destroy(). */
  get map(): BpfMap {
    if (this.#map === undefined) throw notLive(`map "${this.name}"`, this.#state(), 'was not created: its autocreate is off');
    return this.#map;
  }

  get fd(): number {
    return this.map.fd;
  }

  /** @internal Set by BpfObject.load(). */
  bind(map: BpfMap): void {
    this.#map = map;
  }

  /** @internal BpfObject: close the map load() created (a reused one stays its owner's). */
  release(): void {
    if (this.#map !== undefined && this.#map !== this.#reuse) this.#map.close();
    this.#map = undefined;
  }
}

/** Anything destroy() knows how to release (links from src/attach). */
export interface Destroyable {
  destroy(): void | Promise<void>;
}

export class BpfObject {
  readonly name: string;
  readonly spec: CollectionSpec;
  readonly programs = new Map<string, ObjectProgram>();
  readonly maps = new Map<string, ObjectMap>();
  readonly #globals = new Map<string, GlobalData>();
  readonly #options: OpenOptions;
  #state: ObjectState = 'opened';
  #btfFd: FD | undefined;
  /** The BPF token of this load (bpfTokenPath), closed when load() returns. */
  #token: FD | undefined;
  #kernelBtf: Btf | undefined;
  #moduleBtfs: { name: string; btf: Btf }[] | undefined;
  /** The kernel BTF objects of the modules whose kfuncs/ksyms the programs use, by module name. */
  #moduleBtfFds = new Map<string, FD>();
  /** The load's fd_array: [0, module BTF fds...]; a kfunc call's insn.off is its module's index (0 is vmlinux). */
  #fdArray: number[] = [];
  readonly #links: Destroyable[] = [];
  /** USDT spec ids and maps (created by the first USDT attach). */
  #usdt: UsdtManager | undefined;
  /** Pins this load() created: removed again if the load fails, kept once it succeeds. */
  readonly #pinnedByLoad: string[] = [];

  private constructor(spec: CollectionSpec, options: OpenOptions) {
    this.spec = spec;
    this.name = spec.name;
    this.#options = options;
    const pinRoot = options.pinRoot ?? '/sys/fs/bpf';
    const state = (): ObjectState => this.#state;
    for (const p of spec.programs) this.programs.set(p.name, new ObjectProgram(p, state));
    for (const m of spec.maps) this.maps.set(m.name, new ObjectMap(m, pinRoot, state));
    // As libbpf (1.3+): a struct_ops program no struct_ops map points at is not loaded.
    const used = new Set(spec.maps.flatMap((m) => [...(m.structOps?.programs.values() ?? [])]));
    for (const p of this.programs.values()) if (p.type === BpfProgType.BPF_PROG_TYPE_STRUCT_OPS && !used.has(p.name)) p.autoload = false;
    for (const m of spec.maps) {
      if (m.origin !== 'data' || !m.initial) continue;
      this.#globals.set(m.name, new GlobalData(spec.name, m.name, spec.globals.filter((g) => g.map === m.name), spec.btf, copyBytes(m.initial)));
    }
  }

  /** Parse an object file (path or bytes). No kernel access. */
  static open(source: string | Uint8Array, options: OpenOptions = {}): BpfObject {
    const name = options.name ?? (typeof source === 'string' ? objectNameOf(source) : 'object');
    let bytes: Uint8Array;
    try {
      bytes = typeof source === 'string' ? readFileSync(source) : source;
    } catch (err) {
      throw new ObjectError(name, `cannot read ${source as string}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    log('opening %s (%d bytes)', typeof source === 'string' ? source : name, bytes.length);
    let spec: CollectionSpec;
    try {
      spec = parseObject(bytes, { name });
    } catch (err) {
      throw namingObject(name, err);
    }
    return new BpfObject(spec, options);
  }

  /** open() then load(). */
  static openAndLoad(source: string | Uint8Array, options: OpenOptions = {}): BpfObject {
    const obj = BpfObject.open(source, options);
    obj.load();
    return obj;
  }

  /** The fd of the object's BTF in the kernel (undefined before load, or when the kernel refused it). */
  get btfFd(): number | undefined {
    return this.#btfFd?.value;
  }

  get state(): ObjectState {
    return this.#state;
  }

  program(name: string): ObjectProgram {
    const p = this.programs.get(name);
    if (!p) throw new ObjectError(this.name, `no program "${name}" (programs: ${[...this.programs.keys()].join(', ') || 'none'})`);
    return p;
  }

  map(name: string): ObjectMap {
    const m = this.maps.get(name);
    if (!m) throw new ObjectError(this.name, `no map "${name}" (maps: ${[...this.maps.keys()].join(', ') || 'none'})`);
    return m;
  }

  /** Global variables of a data section (".bss", ".data", ".rodata", ".data.custom", ...). */
  globals(section: string): GlobalData {
    const g = this.#globals.get(section);
    if (!g) throw new ObjectError(this.name, `no global data section "${section}" (have: ${[...this.#globals.keys()].join(', ') || 'none'})`);
    return g;
  }
  get bss(): GlobalData {
    return this.globals('.bss');
  }
  get data(): GlobalData {
    return this.globals('.data');
  }
  get rodata(): GlobalData {
    return this.globals('.rodata');
  }

  /** The kernel BTF used for CO-RE and externs (loaded lazily, shared per process). */
  kernelBtf(): Btf {
    this.#kernelBtf ??= loadKernelBtf(this.#options.kernelBtfPath ? { path: this.#options.kernelBtfPath } : {});
    return this.#kernelBtf;
  }

  /**
   * The loaded modules' BTF, split on vmlinux (/sys/kernel/btf/<module>), for
   * kfuncs, ksyms and CO-RE types vmlinux lacks. None when relocating against
   * another kernel's BTF (kernelBtfPath).
   */
  moduleBtfs(): readonly { name: string; btf: Btf }[] {
    if (this.#options.kernelBtfPath) return [];
    this.#moduleBtfs ??= kernelModuleBtfNames().flatMap((name) => {
      const btf = loadModuleBtf(name, { base: this.kernelBtf() });
      return btf ? [{ name, btf }] : [];
    });
    return this.#moduleBtfs;
  }

  /** Create maps and load programs into the kernel. Once only: a second load(), or a load() after destroy(), is a UsageError. */
  load(): void {
    if (this.#state !== 'opened') throw new UsageError(`object ${this.name}: load() on an object that is already ${this.#state}${this.#state === 'destroyed' ? ' (a failed load() destroys it too)' : ''}; open the file again for a second copy`);
    try {
      const t0 = performance.now();
      this.#token = this.#createToken();
      this.#loadBtf();
      const t1 = performance.now();
      const externs = resolveExterns(this.spec, {
        kernelBtf: () => this.kernelBtf(),
        moduleBtfs: () => this.moduleBtfs(),
        kconfig: this.#options.kconfig,
        kconfigPath: this.#options.kconfigPath,
      });
      this.#openModuleBtfs(externs);
      // CO-RE before maps (libbpf does maps first; neither depends on the other): a relocation
      // that cannot be resolved fails the load before any kernel object exists
      const code = this.#relocateCore();
      const t2 = performance.now();
      step('CO-RE', '%s: %d relocations against %s', this.name, [...code.values()].reduce((n, c) => n + c.outcomes.length, 0), this.#kernelBtf ? (this.#options.kernelBtfPath ?? 'the running kernel\'s BTF') : 'no kernel BTF (none needed)');
      this.#createMaps(externs);
      const t3 = performance.now();
      this.#loadPrograms(code, externs);
      this.#initSlots();
      this.#mapGlobals();
      this.#buildStructOpsValues();
      this.#state = 'loaded';
      this.#pinnedByLoad.length = 0;
      this.#token?.close();
      this.#token = undefined;
      const ms = (a: number, b: number) => (b - a).toFixed(2);
      log('%s loaded in %s ms (BTF %s, externs+CO-RE %s, maps %s, programs %s)', this.name, ms(t0, performance.now()), ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t3, performance.now()));
    } catch (err) {
      for (const path of this.#pinnedByLoad.splice(0)) rmSync(path, { force: true });
      this.#release();
      this.#state = 'destroyed';
      throw namingObject(this.name, err);
    }
  }

  // ---------------------------------------------------------------- 0. token

  /** BPF_TOKEN_CREATE from the delegated bpffs at bpfTokenPath (or $LIBBPF_BPF_TOKEN_PATH), if one is set. */
  #createToken(): FD | undefined {
    const path = this.#options.bpfTokenPath ?? process.env.LIBBPF_BPF_TOKEN_PATH;
    if (!path) return undefined;
    let dir: number;
    try {
      dir = openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    } catch (err) {
      throw new ObjectError(this.name, `BPF token: cannot open the bpffs ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    try {
      const fd = tokenCreate(dir, `creating a BPF token from the bpffs at ${path}`);
      log('%s: BPF token fd %d from %s', this.name, fd.value, path);
      return fd;
    } catch (err) {
      const code = (err as TsbpfError).code;
      const why =
        code === 'EINVAL' ? ' (Linux 6.9+ is needed, and the bpffs must be mounted with delegate_cmds/maps/progs/attachs options by the user namespace that uses it)' :
        code === 'ENOENT' ? ' (the bpffs delegates nothing: mount it with delegate_* options)' : '';
      throw new ObjectError(this.name, `BPF token: ${(err as Error).message}${why}`, { cause: err });
    } finally {
      closeSync(dir);
    }
  }

  // ---------------------------------------------------------------- 1. BTF

  #loadBtf(): void {
    const btf = this.spec.btf;
    if (!btf) return;
    const kconfigSize = this.spec.maps.find((m) => m.origin === 'kconfig')?.spec.valueSize ?? 0;
    const bytes = patchObjectBtf({ btf, elf: this.spec.elf, externs: this.spec.externs, kconfigSize });
    if (!bytes) {
      log('%s: BTF is byte-swapped or split; loading without it', this.name);
      return;
    }
    // Optimistic: a current kernel takes the BTF as is. Only when it refuses are
    // the kernel's BTF features probed and the BTF sanitized (libbpf probes first, always).
    // Tests that force a feature's answer get the sanitized path directly.
    if (!hasFeatureOverrides()) {
      try {
        this.#btfFd = loadBtfIntoKernel(bytes, `object ${this.name}`, undefined, this.#token?.value);
        return;
      } catch (err) {
        log('%s: kernel refused the object BTF (%s); probing BTF features to sanitize it', this.name, (err as Error).message.split('\n')[0]);
      }
    }
    const fixed = parseBtf(bytes, { name: `${this.name} BTF` });
    const sanitized = sanitizeBtf(fixed, btfFeatures());
    try {
      this.#btfFd = loadBtfIntoKernel(sanitized === fixed ? bytes : marshalBtf(sanitized), `object ${this.name}${sanitized === fixed ? '' : ' (sanitized)'}`, undefined, this.#token?.value);
    } catch (err) {
      // As libbpf: BTF is optional for programs that do not need it; maps and programs go without.
      log('%s: kernel refused the object BTF, continuing without it: %s', this.name, (err as Error).message);
      this.#btfFd = undefined;
    }
  }

  // ---------------------------------------------------------------- 4. maps

  #createMaps(externs: ResolvedExterns): void {
    for (const om of this.maps.values()) {
      if (!om.autocreate) {
        log('map "%s": autocreate off, not created', om.name);
        continue;
      }
      try {
        this.#createMap(om, externs);
      } catch (err) {
        throw this.#mapFailure(om, err);
      }
      if (om.loaded) step('maps', '%s: map "%s" (%s) fd %d%s', this.name, om.name, mapTypeName(om.map.type), om.map.fd, om.reusedPin ? ' (reused pin)' : '');
    }
  }

  #createMap(om: ObjectMap, externs: ResolvedExterns): void {
    const btfFd = this.#btfFd?.value;
    if (om.reuse) {
      om.bind(om.reuse);
      return;
    }
    const s = om.spec;
    if (s.structOps) {
      this.#createStructOpsMap(om);
      return;
    }
    // BpfMap.create owns the defaults: a perf event array's max_entries 0, the inner map template
    const spec: MapSpec = { ...s.spec, maxEntries: om.maxEntries, flags: om.flags, numaNode: om.numaNode, innerMap: om.innerSpec };
    if (spec.type === MapType.BPF_MAP_TYPE_RINGBUF || spec.type === MapType.BPF_MAP_TYPE_USER_RINGBUF) spec.maxEntries = roundUpPages(spec.maxEntries);
    if (om.pinPath && existsSync(om.pinPath)) {
      om.bind(this.#reusePinned(om, spec));
      return;
    }
    let map: BpfMap;
    const tokenFd = this.#token?.value;
    const withBtf = btfFd !== undefined && (s.btfKeyTypeId || s.btfValueTypeId) && !REJECTS_BTF.has(spec.type);
    if (withBtf) {
      try {
        map = BpfMap.create({ ...spec, btfKeyTypeId: s.btfKeyTypeId, btfValueTypeId: s.btfValueTypeId }, { btfFd, tokenFd });
      } catch (err) {
        // As libbpf: a map the kernel refuses with BTF is retried without it.
        log('map "%s": creation with BTF failed (%s); retrying without BTF', s.name, (err as Error).message);
        map = BpfMap.create(spec, { tokenFd });
      }
    } else {
      map = BpfMap.create(spec, { tokenFd });
    }
    om.bind(map);
    // global data: initial contents, then freeze read-only sections (the verifier then trusts their values)
    const initial = s.origin === 'data' ? this.#globals.get(s.name)!.bytes : s.origin === 'kconfig' ? externs.kconfigData : undefined;
    if (initial) {
      map.update(0, initial);
      if (s.readonly) map.freeze();
    }
    if (om.pinPath) {
      map.pin(om.pinPath);
      this.#pinnedByLoad.push(om.pinPath);
      log('map "%s" pinned at %s', s.name, om.pinPath);
    }
  }

  /**
   * A struct_ops map: its value type is the kernel's `bpf_struct_ops_<name>`
   * (its size is the map's value size), named by btf_vmlinux_value_type_id;
   * the kernel insists on the object's BTF fd alongside.
   */
  #createStructOpsMap(om: ObjectMap): void {
    const so = om.spec.structOps!;
    const btfFd = this.#btfFd?.value;
    if (btfFd === undefined || !this.spec.btf) throw new ObjectError(this.name, `struct_ops map "${om.name}": the kernel did not take the object's BTF, which struct_ops maps need`);
    const layout = resolveStructOps(so, this.spec.btf, this.kernelBtf(), this.name, om.name);
    try {
      om.bind(BpfMap.create({ ...om.spec.spec, valueSize: layout.valueSize, flags: om.flags, btfVmlinuxValueTypeId: layout.valueTypeId }, { btfFd, tokenFd: this.#token?.value }));
    } catch (err) {
      // 6.1 knows struct_ops maps but not BPF_F_LINK on them (6.4+)
      if (so.link && errnoIn(err) === 'EINVAL')
        throw new NotSupportedError('struct_ops links', `${this.name}: map "${om.name}" (section ${so.section}): this kernel refused a struct_ops map registered by a link (BPF_F_LINK, Linux 6.4+)`, { cause: err });
      throw err;
    }
    om.structOpsLayout = layout;
    log('struct_ops map "%s": struct %s (id %d), value %d bytes', om.name, so.typeName, layout.kernTypeId, layout.valueSize);
  }

  /** Each struct_ops map's value, with its programs' fds in place (written at attach). */
  #buildStructOpsValues(): void {
    for (const om of this.maps.values()) {
      if (!om.structOpsLayout) continue;
      om.structOpsValue = buildStructOpsValue(om.structOpsLayout, (name) => {
        const p = this.programs.get(name);
        return p?.loaded ? p.prog.fd : undefined;
      }, this.name, om.name);
    }
  }

  /** The kernel struct id and member index a struct_ops program is loaded for (from the map that points at it). */
  #structOpsTarget(op: ObjectProgram): { attachBtfId: number; expectedAttachType: number } {
    let found: { attachBtfId: number; expectedAttachType: number; map: string } | undefined;
    for (const om of this.maps.values()) {
      const member = om.structOpsLayout?.members.find((m) => m.program === op.name);
      if (!member) continue;
      const t = { attachBtfId: om.structOpsLayout!.kernTypeId, expectedAttachType: member.kernIndex, map: om.name };
      if (found && (found.attachBtfId !== t.attachBtfId || found.expectedAttachType !== t.expectedAttachType))
        throw new ObjectError(this.name, `program "${op.name}" is used by struct_ops maps "${found.map}" and "${om.name}" at different members; a program serves one member`);
      found = t;
    }
    if (!found) throw new ObjectError(this.name, `program "${op.name}" (section ${op.sectionName}): no struct_ops map points at it`);
    return found;
  }

  /**
   * An error about one map, worded object first, then the map, then the
   * reason, naming the map once (a MapError already names it, by its kernel name).
   */
  #mapFailure(om: ObjectMap, err: unknown): Error {
    if (err instanceof ObjectError || err instanceof NotSupportedError) return err;
    const reason =
      err instanceof MapError
        ? err.mapName === om.spec.spec.name || err.mapName === om.name
          ? err.reason
          : `${om.innerSpec && err.mapName === om.innerSpec.name.slice(0, 15) ? 'inner map' : 'map'} "${err.mapName}": ${err.reason}`
        : (err as Error).message;
    return new ObjectError(this.name, `map "${om.name}": ${reason}`, { cause: err });
  }

  /** A pinned map of the same shape is reused as is (libbpf's bpf_map__reuse_fd via pinning). */
  #reusePinned(om: ObjectMap, spec: MapSpec): BpfMap {
    const m = BpfMap.fromPinned(om.pinPath!);
    const info = m.info();
    const mismatch =
      info.type !== spec.type ? `type ${info.type} != ${spec.type}` :
      info.keySize !== spec.keySize ? `key size ${info.keySize} != ${spec.keySize}` :
      info.valueSize !== spec.valueSize ? `value size ${info.valueSize} != ${spec.valueSize}` :
      info.maxEntries !== effectiveMaxEntries(spec) ? `max_entries ${info.maxEntries} != ${effectiveMaxEntries(spec)}` :
      (info.flags & ~0x80000) !== (spec.flags & ~0x80000) ? `flags 0x${info.flags.toString(16)} != 0x${spec.flags.toString(16)}` : '';
    if (mismatch) {
      m.close();
      throw new ObjectError(this.name, `map "${om.name}": the map pinned at ${om.pinPath} does not match the definition (${mismatch})`);
    }
    om.reusedPin = true;
    log('map "%s": reusing the map pinned at %s (id %d)', om.name, om.pinPath, info.id);
    return m;
  }

  // ---------------------------------------------------------------- 3. CO-RE

  #relocateCore(): Map<FunctionSpec, { insns: Uint8Array; outcomes: CoreOutcome[] }> {
    return applyCore(
      this.spec,
      () => this.kernelBtf(),
      (fn) => fn.isSubprog || this.programs.get(fn.name)?.autoload === true,
      () => this.moduleBtfs().map((m) => m.btf),
    );
  }

  /**
   * Open the kernel BTF objects of the modules that define a resolved kfunc
   * or ksym, and lay out the fd_array (libbpf's order: externs by name,
   * index 0 left for vmlinux).
   */
  #openModuleBtfs(externs: ResolvedExterns): void {
    const used = [...externs.byName.values()].filter((e) => e.isSet && e.module).sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1));
    if (used.length === 0) return;
    this.#moduleBtfFds = openModuleBtfFds(new Set(used.map((e) => e.module!)));
    const order = [...new Set(used.filter((e) => e.spec.kind === 'kfunc').map((e) => e.module!))];
    this.#fdArray = order.length ? [0, ...order.map((m) => this.#moduleBtfFds.get(m)!.value)] : [];
    log('module BTF objects: %s', [...this.#moduleBtfFds.keys()].join(', '));
  }

  // ---------------------------------------------------------------- 5. programs

  #loadPrograms(core: Map<FunctionSpec, { insns: Uint8Array; outcomes: CoreOutcome[] }>, externs: ResolvedExterns): void {
    // Each function's instructions after CO-RE (shared by every program that reaches it; the linker copies).
    const code = (fn: FunctionSpec): Uint8Array => core.get(fn)?.insns ?? fn.insns;
    for (const op of this.programs.values()) {
      if (!op.autoload) continue;
      const linked = linkProgram(op.spec, this.spec.subprograms, code, this.spec.btfExt, this.name);
      this.#applyDataRelocs(op, linked, externs);
      op.insns = linked.insns;
      op.coreOutcomes = linked.placed.flatMap(({ fn, start }) => (core.get(fn)?.outcomes ?? []).map((o) => resultAt(o, o.insnIdx - fn.secInsnOff + start)));
      step('relocations and linking', '%s: program "%s": %d instructions with %d subprograms, %d data relocations', this.name, op.name, linked.insns.length / 8, linked.placed.length - 1, linked.placed.reduce((n, { fn }) => n + fn.relocs.length, 0));
      const structOps = op.type === BpfProgType.BPF_PROG_TYPE_STRUCT_OPS ? this.#structOpsTarget(op) : undefined;
      const attachBtfId = structOps?.attachBtfId ?? (op.spec.def.needsAttachBtfId ? this.#attachBtfId(op) : undefined);
      const btf =
        this.#btfFd && this.spec.btfExt
          ? {
              btfFd: this.#btfFd.value,
              funcInfo: encodeFuncInfo(linked.funcInfo),
              funcInfoRecSize: 8,
              lineInfo: encodeLineInfo(linked.lineInfo),
              lineInfoRecSize: 16,
            }
          : this.#btfFd
            ? { btfFd: this.#btfFd.value }
            : undefined;
      const opts: LoadOptions = {
        logLevel: op.logLevel ?? this.#options.logLevel ?? 1,
        alwaysLog: op.alwaysLog,
        explain: (verifierLog) => explainFailure(verifierLog, linked, op.coreOutcomes),
        object: this.name,
      };
      op.bind(Program.load(
        {
          name: op.name,
          type: op.type,
          expectedAttachType: structOps?.expectedAttachType ?? (op.expectedAttachType || undefined),
          insns: linked.insns,
          license: this.spec.license,
          kernVersion: this.spec.kernVersion,
          flags: op.flags,
          sectionName: op.sectionName,
          attachBtfId,
          btf,
          ifindex: op.ifindex || undefined,
          fdArray: this.#fdArray.length ? this.#fdArray : undefined,
          tokenFd: this.#token?.value,
        },
        opts,
      ));
      log('program "%s" (%s) loaded: %d instructions, %d subprograms', op.name, op.sectionName, linked.insns.length / 8, linked.placed.length - 1);
      step('program load', '%s: program "%s" (%s) fd %d', this.name, op.name, BpfProgType[op.type], op.prog.fd);
    }
  }

  /** Map fds, global data addresses and externs, as libbpf's bpf_object__relocate_data. */
  #applyDataRelocs(op: ObjectProgram, linked: LinkedProgram, externs: ResolvedExterns): void {
    const dv = new DataView(linked.insns.buffer, linked.insns.byteOffset, linked.insns.byteLength);
    const setSrc = (i: number, src: number) => dv.setUint8(i * 8 + 1, (dv.getUint8(i * 8 + 1) & 0x0f) | (src << 4));
    const imm = (i: number) => dv.getInt32(i * 8 + 4, true);
    const setImm = (i: number, v: number) => dv.setInt32(i * 8 + 4, v | 0, true);
    const mapFd = (name: string): number => {
      const om = this.map(name);
      if (!om.autocreate)
        throw new ObjectError(this.name, `program "${op.name}" references map "${name}", whose autocreate is off: turn the program's autoload off too, or the map's autocreate on`);
      return om.fd;
    };
    for (const r of linked.relocs) {
      const i = r.insnIdx;
      switch (r.kind) {
        case 'map':
          setSrc(i, BPF_PSEUDO_MAP_FD);
          setImm(i, mapFd(r.map));
          break;
        case 'data':
          setImm(i + 1, imm(i) + r.symOff);
          setSrc(i, BPF_PSEUDO_MAP_VALUE);
          setImm(i, mapFd(r.map));
          break;
        case 'extern': {
          const ext = externs.byName.get(r.extern)!;
          if (ext.spec.kind === 'kconfig') {
            setSrc(i, BPF_PSEUDO_MAP_VALUE);
            setImm(i, mapFd('.kconfig'));
            setImm(i + 1, ext.spec.kconfigOffset!);
          } else if (ext.kernelBtfId && ext.isSet) {
            setSrc(i, BPF_PSEUDO_BTF_ID);
            setImm(i, ext.kernelBtfId);
            setImm(i + 1, ext.module ? this.#moduleBtfFds.get(ext.module)!.value : 0); // a module's BTF object, or vmlinux (0)
          } else {
            setImm(i, Number(BigInt.asIntN(32, ext.addr)));
            setImm(i + 1, Number(BigInt.asIntN(32, ext.addr >> 32n)));
          }
          break;
        }
        case 'kfunc': {
          const ext = externs.byName.get(r.extern)!;
          setSrc(i, BPF_PSEUDO_KFUNC_CALL);
          // An unresolved weak kfunc keeps imm 0 (libbpf 1.1); the verifier rejects it only if reachable.
          setImm(i, ext.isSet ? ext.kernelBtfId : 0);
          // off: the index of the module's BTF fd in fd_array, 0 for vmlinux
          const modFd = ext.isSet && ext.module ? this.#moduleBtfFds.get(ext.module)!.value : 0;
          dv.setInt16(i * 8 + 2, modFd ? this.#fdArray.indexOf(modFd) : 0, true);
          break;
        }
        case 'call':
        case 'subprog_addr':
          break; // done by the linker
      }
    }
    void op;
  }

  /** The BTF id of a BTF-enabled program's target (tp_btf, fentry/fexit/fmod_ret, lsm, iter). */
  #attachBtfId(op: ObjectProgram): number {
    const kbtf = this.kernelBtf();
    const target = op.attachTarget;
    const [name, kind] =
      op.type === BpfProgType.BPF_PROG_TYPE_LSM ? [`bpf_lsm_${target}`, BTF_KIND_FUNC] :
      op.expectedAttachType === BpfAttachType.BPF_TRACE_ITER ? [`bpf_iter_${target}`, BTF_KIND_FUNC] :
      op.expectedAttachType === BpfAttachType.BPF_TRACE_RAW_TP ? [`btf_trace_${target}`, BTF_KIND_TYPEDEF] :
      [target, BTF_KIND_FUNC];
    if (!target) throw new ObjectError(this.name, `program "${op.name}" (section ${op.sectionName}) names no attach target`);
    const id = kbtf.findByNameKind(name, kind);
    if (id <= 0) throw new ObjectError(this.name, `program "${op.name}" (section ${op.sectionName}): the kernel's BTF has no ${kind === BTF_KIND_TYPEDEF ? 'tracepoint' : 'function'} "${name}" to attach to`);
    return id;
  }

  // ---------------------------------------------------------------- 6. slots and mappings

  #initSlots(): void {
    for (const om of this.maps.values()) {
      if (!om.loaded) continue; // autocreate off
      for (const { slot, target } of om.spec.slots) {
        const isProgArray = om.spec.spec.type === MapType.BPF_MAP_TYPE_PROG_ARRAY;
        let fd: number;
        if (isProgArray) {
          const p = this.programs.get(target);
          if (!p) throw new ObjectError(this.name, `map "${om.name}" slot ${slot}: no program "${target}"`);
          if (!p.loaded) continue; // not autoloaded
          fd = p.prog.fd;
        } else {
          const inner = this.map(target);
          if (!inner.loaded) throw new ObjectError(this.name, `map "${om.name}" slot ${slot} holds map "${target}", whose autocreate is off`);
          fd = inner.map.fd;
        }
        try {
          om.map.update(slot, fd);
        } catch (err) {
          throw this.#mapFailure(om, err);
        }
        log('map "%s" slot %d = %s "%s"', om.name, slot, isProgArray ? 'program' : 'map', target);
      }
    }
  }

  #mapGlobals(): void {
    for (const [section, g] of this.#globals) {
      const om = this.map(section);
      if (!om.loaded || (om.map.flags & BPF_F_MMAPABLE) === 0) continue; // autocreate off, or not mmapable: stays a copy
      let mapping: ReturnType<BpfMap['mmap']>;
      try {
        mapping = om.map.mmap();
      } catch (err) {
        throw this.#mapFailure(om, err);
      }
      g.attach(new Uint8Array(mapping.buffer, 0, om.spec.spec.valueSize), mapping.writable);
    }
  }

  // ---------------------------------------------------------------- attach and destroy

  /** Keep a link (or anything destroyable) so destroy() releases it. A UsageError after destroy() (the caller keeps it). */
  adopt<T extends Destroyable>(link: T): T {
    if (this.#state === 'destroyed') throw new UsageError(`object ${this.name}: adopt() after destroy(); release the link yourself`);
    this.#links.push(link);
    return link;
  }

  /** The links attach(), attachAll() and adopt() gave this object (destroy() releases them). */
  get links(): readonly Link[] {
    return this.#links.filter((l): l is Link => l instanceof Link);
  }

  /**
   * Attach one program by its section name (libbpf's bpf_program__attach).
   * The link is kept and released by destroy().
   */
  attach(name: string, opts: AutoAttachOptions = {}): Link {
    this.#assertLoaded('attach()');
    const p = this.program(name);
    if (!p.loaded) throw new UsageError(`object ${this.name}: program "${name}" was not loaded (its autoload is off), so it cannot be attached`);
    return this.adopt(attachTarget(p.prog, p.target, { usdtManager: () => this.usdtManager(), ...opts }, `section "${p.sectionName}"`));
  }

  /**
   * Attach a program written against libbpf's <bpf/usdt.bpf.h> to every call
   * site of USDT probe provider:name in `path` (libbpf's
   * bpf_program__attach_usdt). The link is kept and released by destroy().
   */
  attachUsdt(program: string | ObjectProgram, opts: UsdtOptions): UsdtLink {
    this.#assertLoaded('attachUsdt()');
    const p = typeof program === 'string' ? this.program(program) : program;
    if (this.programs.get(p.name) !== p) throw new ObjectError(this.name, `program "${p.name}" belongs to another object`);
    if (!p.loaded) throw new UsageError(`object ${this.name}: program "${p.name}" was not loaded (its autoload is off), so it cannot be attached`);
    return this.adopt(this.usdtManager().attach(p.prog, opts));
  }

  /**
   * The object's USDT state: its `__bpf_usdt_specs` and
   * `__bpf_usdt_ip_to_spec_id` maps and the spec ids in use. Spec ids reach
   * the BPF side in cookies unless the object was loaded with
   * LINUX_HAS_BPF_COOKIE = n (then through the address map).
   */
  usdtManager(): UsdtManager {
    if (this.#usdt) return this.#usdt;
    if (this.#state !== 'loaded') throw new ObjectError(this.name, `USDT attach needs a loaded object (it is ${this.#state})`);
    const specs = this.#liveMap(USDT_SPECS_MAP);
    const ips = this.#liveMap(USDT_IP_MAP);
    if (!specs || !ips)
      throw new AttachError('', `USDT probes of object ${this.name}`, `the object has no ${USDT_SPECS_MAP} and ${USDT_IP_MAP} maps: its BPF code must include <bpf/usdt.bpf.h>`);
    this.#usdt = new UsdtManager({ specs, ipToSpecId: ips, useCookie: this.#kconfigFlag('LINUX_HAS_BPF_COOKIE') ?? true });
    return this.#usdt;
  }

  /** The value a bool/tristate .kconfig extern got at load (read back from the .kconfig map), or undefined without it. */
  #kconfigFlag(name: string): boolean | undefined {
    const ext = this.spec.externs.find((e) => e.kind === 'kconfig' && e.name === name);
    const kconfig = this.#liveMap('.kconfig');
    if (!ext || !kconfig || ext.kconfigOffset === undefined) return undefined;
    const value = kconfig.lookup(0);
    return value ? value[ext.kconfigOffset] !== 0 : undefined;
  }

  /** The live map of that name, or undefined when the object has none (or left it out: autocreate off). */
  #liveMap(name: string): BpfMap | undefined {
    const om = this.maps.get(name);
    return om?.loaded ? om.map : undefined;
  }

  /**
   * Attach every loaded program whose section says where (what a libbpf
   * skeleton's __attach() does); programs with no auto-attach target
   * (xdp without an interface, perf_event, syscall, ...) are skipped.
   */
  attachAll(opts: AutoAttachOptions = {}): Link[] {
    this.#assertLoaded('attachAll()');
    const links: Link[] = [];
    for (const p of this.programs.values()) {
      if (!p.loaded || !attachesByName(p.target)) continue;
      links.push(this.attach(p.name, opts));
    }
    for (const m of this.maps.values()) if (m.structOpsValue) links.push(this.attachStructOps(m.name));
    return links;
  }

  /** A UsageError unless load() succeeded and destroy() has not been called. */
  #assertLoaded(what: string): void {
    if (this.#state === 'opened') throw new UsageError(`object ${this.name}: ${what} before load(): call load() first`);
    if (this.#state === 'destroyed') throw new UsageError(`object ${this.name}: ${what} after destroy() (or a failed load()); open the object again`);
  }

  /**
   * Register a struct_ops map's structure with the kernel (libbpf's
   * bpf_map__attach_struct_ops): `.struct_ops` maps by writing their value,
   * `.struct_ops.link` maps through a BPF link. destroy() unregisters it.
   */
  attachStructOps(name: string): Link {
    this.#assertLoaded('attachStructOps()');
    const m = this.map(name);
    if (!m.spec.structOps) throw new UsageError(`${this.name}: map "${name}" is not a struct_ops map`);
    if (!m.loaded || !m.structOpsValue) throw new UsageError(`${this.name}: struct_ops map "${name}" was not created (its autocreate is off)`);
    return this.adopt(attachStructOps(m.map, m.structOpsValue));
  }

  /**
   * Detach links, close programs, maps and BTF. Idempotent, as libbpf's
   * bpf_object__close: a second call does nothing; every other use of the
   * object's kernel objects afterwards is a UsageError. Links are
   * released concurrently: closing a tracepoint link sleeps through RCU grace
   * periods in the kernel, and two closes in flight overlap them.
   */
  async destroy(): Promise<void> {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    const links = this.#links.splice(0);
    const attachLinks = links.filter((l): l is Link => l instanceof Link);
    let failure: unknown;
    try {
      await destroyLinks(attachLinks);
      await Promise.all(links.filter((l) => !(l instanceof Link)).map((l) => l.destroy()));
    } catch (e) {
      failure = e;
    }
    this.#release();
    if (failure) throw failure;
  }

  /** destroy(), under the name every owner has. */
  close(): Promise<void> {
    return this.destroy();
  }

  /** destroy(), for `await using`: links are closed concurrently. */
  [ASYNC_DISPOSE](): Promise<void> {
    return this.destroy();
  }

  /**
   * For `using`: destroy() without waiting. Links close one after another
   * (each sleeps in the kernel), then programs, maps and BTF. An adopted
   * object whose destroy() is asynchronous is started, not awaited.
   */
  [DISPOSE](): void {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    let failure: unknown;
    for (const l of this.#links.splice(0)) {
      try {
        void Promise.resolve(l.destroy()).catch(() => {});
      } catch (e) {
        failure ??= e;
      }
    }
    this.#release();
    if (failure) throw failure;
  }

  /** Synchronous release of everything but links (used on load failure and by destroy). */
  #release(): void {
    for (const l of this.#links.splice(0)) {
      try {
        void l.destroy();
      } catch {
        // best effort on a failure path; the original error is what the caller sees
      }
    }
    for (const p of this.programs.values()) p.release();
    for (const m of this.maps.values()) m.release();
    for (const g of this.#globals.values()) g.release();
    this.#btfFd?.close();
    this.#token?.close();
    this.#token = undefined;
    for (const fd of this.#moduleBtfFds.values()) fd.close();
    this.#moduleBtfFds = new Map();
    this.#fdArray = [];
    this.#btfFd = undefined;
    this.#usdt = undefined;
  }
}

/**
 * Every error from open and load names the object first. Errors that already
 * do (ObjectError, ElfError, ProgramLoadError and RelocationError given the
 * name, "<name> .BTF: ...") pass unchanged; any other tsbpf error gets the
 * name put in front of its message, keeping its class and fields (a MapError
 * stays a MapError, a UsageError a UsageError).
 */
function namingObject(name: string, err: unknown): unknown {
  if (!(err instanceof TsbpfError)) return err;
  if (err.message.startsWith(`${name}: `) || err.message.startsWith(`${name} `)) return err;
  const old = err.message;
  err.message = `${name}: ${old}`;
  if (err.stack?.includes(old)) err.stack = err.stack.replace(old, err.message);
  return err;
}

/** Map types the kernel refuses BTF key/value ids for (libbpf drops them too). */
const REJECTS_BTF = new Set<number>([
  MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY,
  MapType.BPF_MAP_TYPE_CGROUP_ARRAY,
  MapType.BPF_MAP_TYPE_STACK_TRACE,
  MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS,
  MapType.BPF_MAP_TYPE_HASH_OF_MAPS,
  MapType.BPF_MAP_TYPE_DEVMAP,
  MapType.BPF_MAP_TYPE_DEVMAP_HASH,
  MapType.BPF_MAP_TYPE_CPUMAP,
  MapType.BPF_MAP_TYPE_XSKMAP,
  MapType.BPF_MAP_TYPE_SOCKMAP,
  MapType.BPF_MAP_TYPE_SOCKHASH,
  MapType.BPF_MAP_TYPE_QUEUE,
  MapType.BPF_MAP_TYPE_STACK,
]);

/** Ring buffer sizes must be a power-of-2 multiple of the page size (libbpf rounds up the same way). */
function roundUpPages(n: number): number {
  let size = PAGE_SIZE;
  while (size < n) size *= 2;
  return size;
}

/** The errno name of an error or of the first error in its cause chain that has one. */
function errnoIn(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  }
  return undefined;
}
