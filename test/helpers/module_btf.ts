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
      let btf: Btf = vmlinux;
      if (where === 'module') {
        // the premise: only the module has them
        expect(vmlinux.findByNameKind('bpf_xdp_ct_lookup', BTF_KIND_FUNC)).toBeLessThanOrEqual(0);
        expect(vmlinux.findByNameKind('nf_conn', BTF_KIND_STRUCT)).toBeLessThanOrEqual(0);
        btf = loadModuleBtf('nf_conntrack')!;
        expect(btf, 'nf_conntrack module BTF').toBeDefined();
        expect(btf.findByNameKind('bpf_xdp_ct_lookup', BTF_KIND_FUNC)).toBeGreaterThanOrEqual(btf.startId);
      } else if (vmlinux.findByNameKind('bpf_xdp_ct_lookup', BTF_KIND_FUNC) <= 0) {
        return ctx.skip(`this kernel has no conntrack kfuncs in vmlinux (CONFIG_NF_CONNTRACK not built in)`);
      }
      const nfConn = btf.findByNameKind('nf_conn', BTF_KIND_STRUCT);
      expect(nfConn).toBeGreaterThan(0);
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
        expect(g('nf_conn_size')).toBe(sizeof(btf, nfConn));
        expect(g('mark_offset')).toBe(findMember(btf, nfConn, 'mark')!.bitOffset / 8);
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
