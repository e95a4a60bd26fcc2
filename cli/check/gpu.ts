// `phoenix check gpu`: what a user with a GPU runs to see that the node and its guests are as the plan says. A
// read-only bash script per node (driver, boot unit, device nodes, each GPU's driver, IOMMU, persistence mode, and
// in each GPU container its devices, nvidia-smi, vLLM's and Ollama's versions and models), run over the user's own
// ssh or printed (--script). Exit 0 when every check passed, 1 when one failed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Io, UsageError } from "../io";
import { buildPlan, type Plan, type PlannedNode } from "../../plan/plan";
import { loadDefinition } from "../../validate";
import { formatProblem } from "../../definition/problems";

export const CHECK_USAGE = "  phoenix check gpu [<definition.yaml> | --stack <env>] [--node <name>] [--script]";

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The node's read-only check script: every line "ok …" or "FAIL …"; exit 1 when a FAIL was printed. */
export function gpuCheckScript(plan: Plan, node: PlannedNode): string {
  const def = plan.machines.filter((m) => m.node === node.name && m.kind === "guest");
  const vmGpus = new Set(def.filter((m) => m.type === "vm").flatMap((m) => m.gpus));
  // The GPUs the host keeps: their /dev/nvidiaN must exist for the containers.
  const gpus = [...new Set(def.filter((m) => m.type === "lxc").flatMap((m) => m.gpus))].filter((g) => !vmGpus.has(g)).sort();
  const lines = [
    "# phoenix check gpu: read-only; prints ok/FAIL lines",
    "set -u",
    'R="${PHX_ROOT:-}"',
    "fails=0",
    'ok() { echo "ok   $*"; }',
    'fail() { echo "FAIL $*"; fails=$((fails + 1)); }',
    'loaded=$(sed -n "s/^NVRM version:.*  \\([0-9][0-9.]*\\)  .*/\\1/p" "$R/proc/driver/nvidia/version" 2>/dev/null | head -n 1)',
  ];
  const want = node.nvidiaDriver?.version;
  if (want)
    lines.push(
      `if [ "$loaded" = ${q(want)} ]; then ok "NVIDIA driver $loaded loaded"; else fail "NVIDIA driver \${loaded:-not loaded}, ${want} declared"; fi`,
    );
  if (node.gpuInit)
    lines.push(
      'if systemctl --quiet is-enabled phoenix-nvidia-init 2>/dev/null; then ok "phoenix-nvidia-init.service enabled ($(systemctl is-active phoenix-nvidia-init 2>/dev/null))"; else fail "phoenix-nvidia-init.service not enabled: device nodes may be missing after a reboot"; fi',
    );
  if (node.nvidiaDriver)
    lines.push(
      ...["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", ...gpus.map((g) => `nvidia${g}`)].map(
        (n) => `if [ -e "$R/dev/${n}" ]; then ok "/dev/${n}"; else fail "/dev/${n} missing"; fi`,
      ),
    );
  for (const m of node.gpuMappings) {
    const expected = vmGpus.has(m.index) ? "vfio-pci" : "nvidia";
    lines.push(
      `drv=$(readlink "$R/sys/bus/pci/devices/${m.pci}/driver" 2>/dev/null); drv=\${drv##*/}; grp=$(readlink "$R/sys/bus/pci/devices/${m.pci}/iommu_group" 2>/dev/null); grp=\${grp##*/}`,
      `if [ "\${drv:-none}" = ${expected} ]; then ok "GPU ${m.index} (${m.pci}) on ${expected}\${grp:+, IOMMU group $grp}"; else fail "GPU ${m.index} (${m.pci}) on \${drv:-no driver}, ${expected} expected${expected === "vfio-pci" ? " (reboot after VFIO's first up)" : ""}"; fi`,
    );
  }
  if (node.vfio)
    lines.push(
      `if [ -s "$R/var/lib/phoenix/vfio-reboot-required" ]; then fail "VFIO waits for a reboot: $(cat "$R/var/lib/phoenix/vfio-reboot-required")"; else ok "VFIO: no reboot pending"; fi`,
    );
  lines.push(
    'if [ -n "$loaded" ] && command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=index,name,pci.bus_id,memory.total,persistence_mode --format=csv,noheader | sed "s/^/info GPU /"; fi',
  );
  for (const m of def.filter((x) => x.type === "lxc" && x.gpus.length > 0)) {
    const inCt = (cmd: string) => `pct exec ${m.vmid} -- sh -c ${q(cmd)}`;
    lines.push(
      `if pct status ${m.vmid} 2>/dev/null | grep -q running; then`,
      `  n=$(${inCt("ls /dev/nvidia[0-9]* 2>/dev/null | wc -l")}); [ "$n" = ${m.gpus.length} ] && ok "CT ${m.vmid} ${m.name}: ${m.gpus.length} GPU device node(s)" || fail "CT ${m.vmid} ${m.name}: $n GPU device node(s), ${m.gpus.length} declared"`,
      `  n=$(${inCt("nvidia-smi -L 2>/dev/null | wc -l")}); [ "$n" = ${m.gpus.length} ] && ok "CT ${m.vmid} ${m.name}: nvidia-smi lists $n GPU(s)" || fail "CT ${m.vmid} ${m.name}: nvidia-smi lists $n GPU(s), ${m.gpus.length} declared"`,
    );
    const v = m.features.vllm;
    if (v) {
      const port = v.port ?? 8000;
      lines.push(
        `  r=$(${inCt(`curl -fsS http://127.0.0.1:${port}/version 2>/dev/null`)}); [ -n "$r" ] && ok "CT ${m.vmid} ${m.name}: vLLM $r" || fail "CT ${m.vmid} ${m.name}: vLLM does not answer on port ${port}"`,
      );
    }
    const o = m.features.ollama;
    if (o) {
      const port = o.port ?? 11434;
      lines.push(
        `  r=$(${inCt(`curl -fsS http://127.0.0.1:${port}/api/version 2>/dev/null`)}); [ -n "$r" ] && ok "CT ${m.vmid} ${m.name}: Ollama $r" || fail "CT ${m.vmid} ${m.name}: Ollama does not answer on port ${port}"`,
      );
    }
    lines.push(`else fail "CT ${m.vmid} ${m.name} is not running"; fi`);
  }
  lines.push('echo "$fails check(s) failed"', '[ "$fails" = 0 ]', "");
  return lines.join("\n");
}

export function checkCommand(args: string[], io: Io): number {
  const [what, ...rest] = args;
  if (what !== "gpu") throw new UsageError(what ? `unknown check '${what}'` : "missing what to check (gpu)");
  const { values, positionals } = parseArgs({
    args: rest,
    options: { stack: { type: "string" }, node: { type: "string" }, script: { type: "boolean" } },
    allowPositionals: true,
    strict: true,
  });
  const file = positionals[0] ?? (values.stack ? join("stacks", `${values.stack}.yaml`) : undefined);
  if (!file || positionals.length > 1) throw new UsageError("give one definition file, or --stack <env>");
  if (!existsSync(file)) throw new UsageError(`no such definition: ${file}`);
  const loaded = loadDefinition(file);
  if (!loaded.definition) {
    io.err(loaded.problems.map(formatProblem).join("\n"));
    return 1;
  }
  const plan = buildPlan(loaded.definition);
  const nodes = plan.nodes.filter((n) => (values.node ? n.name === values.node : n.gpuMappings.length > 0 || n.gpuInit));
  if (nodes.length === 0) throw new UsageError(values.node ? `no node '${values.node}'` : "no node of this definition has GPUs");
  let failed = false;
  for (const n of nodes) {
    const script = gpuCheckScript(plan, n);
    if (values.script) {
      io.out(`# node ${n.name}\n${script}`);
      continue;
    }
    if (!n.ssh) {
      io.err(`node ${n.name}: no ssh in the definition; run the script yourself: phoenix check gpu ${file} --script`);
      failed = true;
      continue;
    }
    io.out(`node ${n.name} (${n.ssh.user}@${n.ssh.host}):`);
    const r = spawnSync("ssh", ["-o", "BatchMode=yes", "-p", String(n.ssh.port), `${n.ssh.user}@${n.ssh.host}`, "bash -s"], {
      input: script,
      encoding: "utf8",
      timeout: 120_000,
    });
    io.out(r.stdout.trimEnd());
    if (r.status !== 0) {
      if (r.stderr.trim()) io.err(r.stderr.trim());
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
