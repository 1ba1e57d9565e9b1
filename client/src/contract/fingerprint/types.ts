/**
 * The shapes the native fingerprint addon returns (docs/fingerprint.md). Raw values: hash them
 * with `hashFingerprint` (./hashing) before they leave the machine.
 */
import type { HardwareComponentId } from './components';

/** Why a component has or lacks a value; the addon reports these instead of throwing. */
export type ComponentStatus = 'ok' | 'absent' | 'denied' | 'junk' | 'unsupported' | 'error';

export interface Component<Value = string> {
  status: ComponentStatus;
  /** Present only when `status` is `ok`. */
  value?: Value;
  /** Where the value came from, or why there is none. Never needed for matching. */
  detail?: string;
}

/** One entry per requested component id (docs/fingerprint-design.md#component-catalogue). */
export type FingerprintComponents = {
  [Id in HardwareComponentId]?: Component<Id extends 'net.macs' ? string[] : string>;
};

/**
 * Virtualisation / container report: flags, not identity
 * (docs/fingerprint-design.md#virtualisation-and-container-report).
 */
export interface FingerprintEnv {
  virtualized: boolean;
  /** Short name: kvm, microsoft, vmware, virtualbox, xen, qemu, parallels, apple, ... */
  hypervisorVendor?: string;
  container: boolean;
  /** docker, podman, kubernetes, lxc, containerd, systemd-nspawn, windows, ... */
  containerRuntime?: string;
  /**
   * Linux: what tells this container from another of the same image (the per-container source of
   * its /etc/hostname mount). Never sent anywhere: the client keys it into the instance identity.
   */
  containerId?: string;
  /** aws, gcp, azure, alibaba, oracle, digitalocean, hetzner, tencent, openstack. */
  cloud?: string;
  /** Human-readable reasons for the flags above. */
  evidence: string[];
}

export interface CpuIdentity {
  vendor: string;
  family: number;
  model: number;
  stepping: number;
  brand: string;
  /** CPUID leaf 1 EDX:EAX as 16 hex digits (x86 only), Windows' `ProcessorId` spelling. */
  processorId?: string;
}

/** A physical disk below the root file system; serial / wwid only when not placeholders. */
export interface BootDisk {
  name: string;
  bus: string;
  model?: string;
  serial?: string;
  wwid?: string;
}

export interface CollectedFingerprint {
  platform: 'linux' | 'darwin' | 'win32' | 'unknown';
  components: FingerprintComponents;
  env: FingerprintEnv;
  /** Raw facts behind some components, used for the marketplace string and for display. */
  hardware: {
    cpu?: CpuIdentity;
    bootDisks: BootDisk[];
  };
}

export interface CollectOptions {
  /** Linux only: read /sys, /proc, /etc below this directory instead of "/" (test fixtures). */
  root?: string;
  /** Collect only these components (default: all). */
  include?: HardwareComponentId[];
}
