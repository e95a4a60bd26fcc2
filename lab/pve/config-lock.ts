// Proxmox's guest config lock, in-process part: PVE::AbstractConfig::lock_config serialises every read-change-write
// of a guest's config. A KeyedMutex queues the lab's own writers of one config behind each other; the host backend
// adds the file lock the node's scripts take (lab/host/flock.ts).
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs fn once every earlier holder of `key` is done; the next waits for fn, however fn ends. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.then(fn, fn);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Where Proxmox takes a container's config lock (pve-container's PVE::LXC::Config->config_file_lock). */
export const LXC_LOCK_DIR = "/run/lock/lxc";

export function lxcConfigLockFile(lockDir: string, vmid: number): string {
  return `${lockDir}/pve-config-${vmid}.lock`;
}

/** PVE::AbstractConfig::lock_config's timeout. */
export const CONFIG_LOCK_TIMEOUT_MS = 10_000;
