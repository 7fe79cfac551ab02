// kprobe.multi and uprobe.multi in each guest of the matrix: on 6.12
// (CONFIG_FPROBE, 6.6+) every probe counts exactly the calls made, by cookie;
// on 6.1 both are refused with a NotSupportedError that names what is
// missing (CONFIG_FPROBE; Linux 6.6+).
import { describe } from 'vitest';
import { kprobeMultiTests, uprobeMultiTests } from '../../helpers/multi_probes.ts';
import { guestKernelId, inGuest, kernelAtLeast, kernelConfig } from './guest.ts';

describe.skipIf(!inGuest)(`multi-probes (${guestKernelId} guest)`, () => {
  kprobeMultiTests(`${guestKernelId} guest`, kernelConfig().get('CONFIG_FPROBE') === 'y', /CONFIG_FPROBE/);
  uprobeMultiTests(`${guestKernelId} guest`, kernelAtLeast(6, 6), /uprobe\.multi links need Linux 6\.6\+/);
});
