// A container volume moved between the lab's nodes as Proxmox's ZFS storage plugin moves it: a temporary
// `__migration__` snapshot sent with `zfs send` into `zfs receive` on the other node's pool, the snapshot then
// removed on both sides, the subvol's refquota set again on the copy (a plain send carries no properties).
import { spawn } from "node:child_process";
import type { VolumeSend } from "../pve/backend";
import type { TaskLog } from "../pve/tasks";
import { run } from "../host/run";
import { destroySnapshot } from "../host/zfs";

const SNAP = "__migration__";

/** Exit code and stderr of a child process, once it is gone. */
function exited(child: ReturnType<typeof spawn>): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve) => {
    child.on("error", (e) => resolve({ code: 127, stderr: String(e) }));
    child.on("close", (code) => resolve({ code: code ?? 1, stderr }));
  });
}

export function zfsSend(dataset: string, log: TaskLog): VolumeSend {
  run("zfs", ["snapshot", `${dataset}@${SNAP}`]);
  const size = Number(run("zfs", ["get", "-H", "-p", "-o", "value", "refquota", dataset]).stdout.trim()) || 0;
  log(`zfs send ${dataset}@${SNAP}`);
  const child = spawn("zfs", ["send", `${dataset}@${SNAP}`], { stdio: ["ignore", "pipe", "pipe"] });
  const done = exited(child).then(async ({ code, stderr }) => {
    await destroySnapshot(dataset, SNAP);
    if (code !== 0) throw new Error(`zfs send ${dataset}@${SNAP} failed: ${stderr.trim()}`);
  });
  // the receiver awaits it; until then a failure must not count as unhandled
  done.catch(() => undefined);
  return { stream: child.stdout!, size, done };
}

export async function zfsReceive(dataset: string, send: VolumeSend, log: TaskLog): Promise<void> {
  const child = spawn("zfs", ["receive", dataset], { stdio: ["pipe", "ignore", "pipe"] });
  send.stream.pipe(child.stdin!);
  child.stdin!.on("error", () => undefined);
  const { code, stderr } = await exited(child);
  if (code !== 0) {
    send.stream.destroy();
    await send.done.catch(() => undefined);
    throw new Error(`zfs receive ${dataset} failed: ${stderr.trim()}`);
  }
  await send.done;
  await destroySnapshot(dataset, SNAP);
  if (send.size > 0) run("zfs", ["set", `refquota=${send.size}`, dataset]);
  log(`received ${dataset}${send.size > 0 ? ` (refquota ${send.size})` : ""}`);
}
