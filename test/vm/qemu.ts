// QEMU command line for the test guest: microvm, virtio-mmio devices only.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';

export type Accel = 'tcg' | 'kvm';

/** KVM only with real VT-x/AMD-V: this project's /dev/kvm may be PVM, which crashes stock kernels. */
export function pickAccel(override?: string): { accel: Accel; why: string } {
  if (override === 'tcg' || override === 'kvm') return { accel: override, why: 'TSBPF_VM_ACCEL' };
  const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.split(/\s+/) ?? [];
  const hw = flags.includes('vmx') || flags.includes('svm');
  if (!hw) return { accel: 'tcg', why: 'no vmx/svm in /proc/cpuinfo' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: 'vmx/svm present but /dev/kvm is not accessible' };
  }
  return { accel: 'kvm', why: 'vmx/svm present and /dev/kvm accessible' };
}

/** The host TSC frequency in kHz: under TCG the guest TSC ticks at the host's rate. */
export function hostTscKhz(): number | undefined {
  try {
    const dmesg = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m =
      dmesg.match(/tsc: Refined TSC clocksource calibration: (\d+)\.(\d{3}) MHz/) ??
      dmesg.match(/tsc: Detected (\d+)\.(\d{3}) MHz/);
    if (m) return Number(m[1]) * 1000 + Number(m[2]);
  } catch {
    // dmesg may be restricted: fall through
  }
  const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^cpu MHz\s*:\s*(\d+)\.(\d{1,3})/m);
  if (m) return Number(m[1]) * 1000 + Number(m[2]!.padEnd(3, '0'));
  return undefined;
}

export interface QemuConfig {
  accel: Accel;
  /** -cpu model; default host (KVM) or max (TCG). */
  cpu?: string;
  vmlinux: string;
  initramfs: string;
  memory: string;
  smp: number;
  tscKhz: number | undefined;
  scratchDir: string;
  consoleLog: string;
  outSocket: string;
  errSocket: string;
  /** full kernel log on the console (slower boot) */
  verbose?: boolean;
}

export function kernelCmdline(c: QemuConfig): string {
  const args = [
    'console=ttyS0',
    ...(c.verbose ? ['loglevel=7'] : ['quiet', 'loglevel=4']),
    'panic=-1', // reboot (-> qemu exits) on panic, e.g. when init dies
    'reboot=t', // triple fault: the fastest way out
    'rdinit=/init',
    'cryptomgr.notests',
    'no_hash_pointers',
    'audit=0',
    'noresume',
    'i8042.noaux',
    'i8042.nokbd',
    '8250.nr_uarts=1',
  ];
  if (c.accel === 'tcg') {
    // Without these, microvm under TCG hung at TSC calibration in 8-16% of boots.
    if (c.tscKhz) args.push(`tsc_early_khz=${c.tscKhz}`);
    args.push('tsc=reliable');
  }
  return args.join(' ');
}

export function qemuArgs(c: QemuConfig): string[] {
  const accel = c.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', c.cpu ?? 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', c.cpu ?? 'max'];
  return [
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-monitor', 'none',
    '-no-reboot',
    '-M', 'microvm,x-option-roms=off,rtc=on,isa-serial=on',
    ...accel,
    '-smp', String(c.smp),
    '-m', c.memory,
    '-kernel', c.vmlinux,
    '-initrd', c.initramfs,
    '-append', kernelCmdline(c),
    '-chardev', `file,id=con,path=${c.consoleLog}`,
    '-serial', 'chardev:con',
    '-fsdev', 'local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-9p-device,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=scratch,path=${c.scratchDir},security_model=none,multidevs=remap`,
    '-device', 'virtio-9p-device,fsdev=scratch,mount_tag=scratch',
    '-device', 'virtio-serial-device,max_ports=4',
    '-chardev', `socket,id=out,path=${c.outSocket}`,
    '-device', 'virtserialport,chardev=out,name=tsbpf.out',
    '-chardev', `socket,id=err,path=${c.errSocket}`,
    '-device', 'virtserialport,chardev=err,name=tsbpf.err',
  ];
}
