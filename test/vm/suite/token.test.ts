// BPF tokens in the guests: on 6.12 a program loads through a token as a
// non-root user in a user namespace with a delegated bpffs, and fails with
// EPERM without it; 6.1 has no tokens (6.9+): a named skip.
import { describe, it } from 'vitest';
import { tokenTests } from '../../helpers/token.ts';
import { guestKernelId, inGuest, needsKernel } from './guest.ts';

describe.skipIf(!inGuest)(`BPF tokens (${guestKernelId} guest)`, () => {
  const missing = needsKernel(6, 9, 'BPF tokens');
  if (missing) it.skip(missing, () => {});
  else tokenTests(`${guestKernelId} guest`, true);
});
