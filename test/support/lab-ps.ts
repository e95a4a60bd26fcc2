// What `ps` on the host shows of a lab container: the host uids of its init and every process below it.
import { run } from "../../lab/host/run";

export function containerInit(lxcPath: string, vmid: number): number {
  return Number(run("lxc-info", ["-P", lxcPath, "-n", String(vmid), "-p", "-H"]).stdout.trim());
}

export function containerHostUids(lxcPath: string, vmid: number): number[] {
  const init = containerInit(lxcPath, vmid);
  const rows = run("ps", ["-e", "-o", "pid=,ppid=,uid="])
    .stdout.trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const tree = new Set([init]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of rows)
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
  }
  return rows.filter(([pid]) => tree.has(pid)).map(([, , uid]) => uid);
}
