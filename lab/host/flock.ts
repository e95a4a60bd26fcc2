// An exclusive flock(2) on a file, held while a function runs: what Perl's PVE::Tools::lock_file does, for the lab's
// writers of files Proxmox locks that way (a container's config: /run/lock/lxc/pve-config-<vmid>.lock). Node has no
// flock, so util-linux's flock(1) holds it: it takes the lock, says so, and keeps it until its stdin closes, which
// also happens when this process dies.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** Runs fn holding the lock; after timeoutMs of waiting, fails as Proxmox does ("can't lock file '…' - got timeout"). */
export async function withFileLock<T>(file: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const holder = spawn("flock", ["-w", String(timeoutMs / 1000), file, "sh", "-c", "echo locked; exec cat >/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => holder.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let err = "";
    holder.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) resolve();
    });
    holder.stderr.on("data", (d: Buffer) => (err += d.toString()));
    holder.on("error", reject);
    void exited.then((code) =>
      reject(new Error(code === 1 ? `can't lock file '${file}' - got timeout` : `can't lock file '${file}' - ${err.trim()}`)),
    );
  });
  try {
    return await fn();
  } finally {
    holder.stdin.end();
    await exited;
  }
}
