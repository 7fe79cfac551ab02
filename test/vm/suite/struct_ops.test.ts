// struct_ops in each guest: the BPF Reno registered and used by a loopback
// TCP connection; `.struct_ops.link` maps (Linux 6.4+) refused with a named
// NotSupportedError on 6.1.
import { describe } from 'vitest';
import { structOpsTests } from '../../helpers/struct_ops.ts';
import { guestKernelId, inGuest, kernelAtLeast } from './guest.ts';

describe.skipIf(!inGuest)(`struct_ops (${guestKernelId} guest)`, () => {
  structOpsTests(`${guestKernelId} guest`, kernelAtLeast(6, 4));
});
