// PVE::Tools::validate_ssh_public_keys: every non-blank line of a key list must be a public key `ssh-keygen -l`
// reads, else the call fails before anything is touched with "SSH public key validation error".
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fail } from "./errors";

export function validateSshPublicKeys(keys: string): void {
  const lines = keys.split("\n").filter((l) => l.trim() !== "");
  if (!lines.length) return;
  const dir = mkdtempSync(join(tmpdir(), "pve-ssh-keys-"));
  try {
    for (const line of lines) {
      const file = join(dir, "key.pub");
      writeFileSync(file, `${line}\n`, { mode: 0o600 });
      const r = spawnSync("ssh-keygen", ["-l", "-f", file], { stdio: "ignore", timeout: 10_000 });
      if (r.status !== 0) throw fail("SSH public key validation error");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
