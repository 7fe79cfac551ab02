// Kfuncs and CO-RE types of a kernel module (netfilter conntrack), shared by
// the host suite (conntrack built into vmlinux there) and the VM suite (a
// module: its split BTF in /sys/kernel/btf/nf_conntrack). bpf/module_kfunc.bpf.o
// calls bpf_xdp_ct_lookup/bpf_ct_release and relocates struct nf_conn; run
// once with BPF_PROG_TEST_RUN it looks up a connection that does not exist.
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BTF_KIND_FUNC, BTF_KIND_STRUCT, findMember, loadKernelBtf, loadModuleBtf, sizeof, type Btf } from '../../src/btf/index.ts';
import { BpfObject } from '../../src/object/index.ts';
import { fdCount, kernelRefusal } from './env.ts';
import { oracleAvailable, oracleLoadSync } from './oracle.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const OBJ = join(REPO, 'bpf', 'module_kfunc.bpf.o');
const XDP_PASS = 2;
const ENOENT = 2;

/**
 * `where`: 'module' (vmlinux must lack conntrack: the load can only work
 * through nf_conntrack's module BTF) or 'vmlinux' (built in).
 */
export function moduleKfuncTests(label: string, where: 'module' | 'vmlinux', prepare: () => void = () => {}): void {
  describe(`kfuncs and CO-RE types of netfilter conntrack (${label}, in ${where})`, () => {
    it('loads, runs the kfuncs, relocates struct nf_conn, and matches libbpf\'s tags', async (ctx) => {
      prepare();
      const vmlinux = loadKernelBtf();
      let modBtf: Btf | undefined;
      if (where === 'module') {
        // the premise: only the module has the kfuncs
        expect(vmlinux.findByNameKind('bpf_xdp_ct_lookup', BTF_KIND_FUNC)).toBeLessThanOrEqual(0);
        const mod = loadModuleBtf('nf_conntrack');
        expect(mod, 'nf_conntrack module BTF').toBeDefined();
        expect(mod!.findByNameKind('bpf_xdp_ct_lookup', BTF_KIND_FUNC)).toBeGreaterThanOrEqual(mod!.startId);
        modBtf = mod!;
      } else if (vmlinux.findByNameKind('bpf_xdp_ct_lookup', BTF_KIND_FUNC) <= 0) {
        return ctx.skip(`this kernel has no conntrack kfuncs in vmlinux (CONFIG_NF_CONNTRACK not built in)`);
      }
      // CO-RE takes a struct from vmlinux when vmlinux has one (nf_conn: built-in code references
      // it), from a module only when vmlinux has none (bpf_ct_opts on 6.12): libbpf's rule
      const home = (name: string): Btf => (vmlinux.findByEssentialName(name, BTF_KIND_STRUCT).length > 0 || !modBtf ? vmlinux : modBtf);
      const nfConnBtf = home('nf_conn');
      const optsBtf = home('bpf_ct_opts');
      const nfConn = nfConnBtf.findByNameKind('nf_conn', BTF_KIND_STRUCT);
      const opts = optsBtf.findByNameKind('bpf_ct_opts', BTF_KIND_STRUCT);
      expect(nfConn).toBeGreaterThan(0);
      expect(opts).toBeGreaterThan(0);
      const fds = fdCount();
      const obj = BpfObject.open(OBJ);
      try {
        obj.load();
      } catch (e) {
        await obj.destroy();
        const refusal = where === 'vmlinux' ? kernelRefusal(e) : undefined;
        if (refusal) return ctx.skip(`the kernel refused the XDP program (${refusal})`);
        throw e;
      }
      try {
        const prog = obj.program('ct_lookup').prog;
        expect(prog.testRun({ dataIn: new Uint8Array(64) }).retval).toBe(XDP_PASS);
        const g = (n: string) => obj.bss.get(n);
        expect(g('lookups')).toBe(1n);
        expect(g('found')).toBe(0n);
        expect(g('last_error')).toBe(-ENOENT); // the kfunc ran: no such connection
        expect(g('nf_conn_size')).toBe(sizeof(nfConnBtf, nfConn));
        expect(g('mark_offset')).toBe(findMember(nfConnBtf, nfConn, 'mark')!.bitOffset / 8);
        expect(g('opts_size')).toBe(sizeof(optsBtf, opts));
        expect(g('opts_l4proto_offset')).toBe(findMember(optsBtf, opts, 'l4proto')!.bitOffset / 8);
        // what CO-RE matched: types of the BTF it should have used
        // (vmlinux may hold flavors of a struct, e.g. nf_conn___init: any of them, but there)
        const outcomes = obj.program('ct_lookup').coreOutcomes;
        for (const [name, home] of [['nf_conn', nfConnBtf], ['bpf_ct_opts', optsBtf]] as const) {
          const targets = outcomes.filter((o) => o.description.startsWith(`struct ${name} `) || o.description.startsWith(`struct ${name}:`)).flatMap((o) => o.targetTypeIds);
          expect(targets.length, name).toBeGreaterThan(0);
          const where = home === vmlinux ? 'vmlinux' : 'nf_conntrack';
          expect(targets.every((id) => id >= home.startId && id <= home.typeCount && home.nameOf(id).replace(/___.*$/, '') === name), `${name} from ${where}: ${targets}`).toBe(true);
        }
        if (where === 'module') expect(optsBtf === modBtf || process.env.TSBPF_VM_KERNEL === '6.1', 'bpf_ct_opts only in the module (6.12)').toBe(true);
        const avail = oracleAvailable();
        if (avail.ok) {
          const c = oracleLoadSync(OBJ);
          expect(c.ok, c.error?.message).toBe(true);
          expect(prog.tag()).toBe(c.progs.find((p) => p.name === 'ct_lookup')!.tag);
        }
      } finally {
        await obj.destroy();
      }
      expect(fdCount()).toBe(fds); // the module's BTF fd too
    });
  });
}
