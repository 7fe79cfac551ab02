// Module BTF in each guest: nf_conntrack (a module in Debian's kernels) is
// loaded from the staged modules, then bpf/module_kfunc.bpf.o calls its
// kfuncs (the module's BTF object in fd_array) and relocates struct nf_conn
// against its split BTF (vmlinux has neither).
import { describe } from 'vitest';
import { moduleKfuncTests } from '../../helpers/module_btf.ts';
import { guestKernelId, inGuest, loadModule } from './guest.ts';

describe.skipIf(!inGuest)(`module BTF (${guestKernelId} guest)`, () => {
  moduleKfuncTests(`${guestKernelId} guest`, 'module', () => loadModule('nf_conntrack'));
});
