// One read-only command on a Proxmox node over SSH, for `phoenix adopt` (its ZFS datasets: `zfs list`), with the
// definition's pinned host key checked when it gives one. The provisioning engine's SSH (provisioners/engine/) is
// for the Pulumi program; the CLI's layer reaches only definition/, validate/ and plan/, so it dials on its own.
import { createHash } from "node:crypto";
import { NodeSSH } from "node-ssh";
import { CommandError } from "./io";

export interface NodeLogin {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  /** OpenSSH "type base64" or "SHA256:…": the node must present this key. */
  hostKey?: string;
}

function fingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

function pinned(key: string): string {
  const k = key.trim();
  return k.startsWith("SHA256:") ? k.replace(/=+$/, "") : fingerprint(Buffer.from(k.split(/\s+/)[1] ?? "", "base64"));
}

/** Runs `command` on the node; its stdout, or an error with its stderr. */
export async function onNode(login: NodeLogin, command: string): Promise<string> {
  const ssh = new NodeSSH();
  const want = login.hostKey ? pinned(login.hostKey) : undefined;
  let seen: string | undefined;
  try {
    await ssh.connect({
      host: login.host,
      port: login.port,
      username: login.user,
      ...(login.privateKey ? { privateKey: login.privateKey } : {}),
      readyTimeout: 20_000,
      hostVerifier: (key: Buffer) => {
        seen = fingerprint(key);
        return want === undefined || seen === want;
      },
    } as Parameters<NodeSSH["connect"]>[0]);
  } catch (e) {
    ssh.dispose();
    if (want && seen && seen !== want)
      throw new CommandError(
        `host key mismatch for ${login.host}:${login.port}: expected ${want} (nodes[].ssh.hostKey), the node presented ${seen}`,
      );
    throw new CommandError(`SSH to ${login.user}@${login.host}:${login.port} failed: ${(e as Error).message}`);
  }
  try {
    const r = await ssh.execCommand(command);
    if (r.code !== 0) throw new CommandError(`'${command}' on ${login.host} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  } finally {
    ssh.dispose();
  }
}
