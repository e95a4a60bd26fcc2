// Human-readable rendering of a plan: the clone hierarchy and a table of machines in build order.
import { GPU_MEMORY_LIMIT, describeShare } from "../definition/gpu-budget";
import type { Plan, PlannedMachine } from "./plan";
import type { PlannedHa } from "./ha";

export function renderCloneTree(plan: Plan): string[] {
  const children = new Map<string, PlannedMachine[]>();
  for (const m of plan.machines) children.set(m.source.template, [...(children.get(m.source.template) ?? []), m]);
  const lines: string[] = [];
  const label = (m: PlannedMachine) =>
    `${m.vmid} ${m.name} (${m.kind === "template" ? "template" : "guest"}, ${m.type}${m.gpus.length ? `, gpus ${m.gpus.join(",")}` : ""})`;
  const walk = (name: string, prefix: string) => {
    const kids = children.get(name) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      lines.push(`${prefix}${last ? "└─ " : "├─ "}${label(k)}`);
      walk(k.name, prefix + (last ? "   " : "│  "));
    });
  };
  for (const b of plan.baseTemplates) {
    const src = "url" in b.source ? b.source.url : `${b.source.storage}:${b.source.file}`;
    lines.push(`${b.vmid !== undefined ? `${b.vmid} ` : ""}${b.name} (base ${b.type}, ${src})`);
    walk(b.name, "");
  }
  return lines;
}

export function renderTable(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
}

export function renderPlan(plan: Plan): string {
  const out: string[] = ["Clone hierarchy", ...renderCloneTree(plan).map((l) => `  ${l}`), "", "Build order"];
  const rows = [["#", "vmid", "name", "kind", "node", "from", "network", "gpus", "provisioners", "after"]];
  plan.machines.forEach((m, i) =>
    rows.push([
      String(i + 1),
      String(m.vmid),
      m.name,
      `${m.kind === "template" ? "template" : "guest"}/${m.type}`,
      m.node,
      `${m.source.kind} ${m.source.template}`,
      m.network.map((n) => `${n.bridge} ${n.ip}${n.allocated ? "*" : ""}`).join(", ") || "-",
      m.gpus.join(",") || "-",
      m.provisioners.map((p) => p.feature).join(",") || "-",
      m.dependsOn.join(",") || "-",
    ]),
  );
  out.push(...renderTable(rows).map((l) => `  ${l}`), "  (* allocated from a pool)");
  if (plan.placements.length)
    out.push("", "Placement", ...plan.placements.map((p) => `  ${p.guest} → ${p.node} (${p.how}): ${p.reasons.join("; ")}`));
  const host = plan.nodes.flatMap((n) => [
    ...n.datasets.map(
      (d) =>
        `  ${n.name}: zfs dataset ${d.name}${
          Object.keys(d.properties).length
            ? ` (${Object.entries(d.properties)
                .map(([k, v]) => `${k}=${v}`)
                .join(", ")})`
            : ""
        }`,
    ),
    ...n.gpuMappings.map((g) => `  ${n.name}: PCI mapping ${g.id} → ${g.pci}`),
    ...n.apparmorProfiles.map((a) => `  ${n.name}: AppArmor profile ${a.name}`),
    ...(n.gpuInit ? [`  ${n.name}: phoenix-nvidia-init.service (/dev/nvidia* and persistence mode before guests start)`] : []),
    ...(n.vfio
      ? [
          `  ${n.name}: VFIO, vfio-pci at boot for ${n.vfio.devices.map((d) => d.pci).join(", ") || "no device"} (a reboot applies it)`,
        ]
      : []),
  ]);
  if (host.length) out.push("", "Host", ...host);
  if (plan.gpuBudgets.length)
    out.push(
      "",
      `GPU memory (at most ${GPU_MEMORY_LIMIT.toFixed(2)} of each GPU)`,
      ...plan.gpuBudgets.map(
        (b) =>
          `  ${b.node} GPU ${b.index}${b.model || b.memory ? ` (${[b.model, b.memory && `${b.memory} GiB`].filter(Boolean).join(", ")})` : ""}: ` +
          `${b.total.toFixed(2)} — ${b.shares.map((x) => describeShare(x, b.memory)).join("; ")}`,
      ),
    );
  if (plan.apps.length)
    out.push(
      "",
      "Apps",
      ...plan.apps.map(
        (a) =>
          `  ${a.name}: ${a.compose} on ${a.targets.map((t) => (t.portainer ? `${t.guest} (through Portainer on ${t.portainer.server})` : t.guest)).join(", ")}` +
          Object.entries(a.endpoints)
            .map(([k, e]) => `\n    ${k} = ${e.url} (${e.service} on ${e.guest})`)
            .join(""),
      ),
    );
  if (plan.dns)
    out.push(
      "",
      `DNS: dnsmasq on ${plan.dns.node} at ${plan.dns.listen}, other names to ${plan.dns.upstream.join(", ") || "nowhere"}` +
        `${plan.dns.useInGuests ? "; guests resolve through it" : ""}`,
      ...renderTable(plan.dns.records.map((r) => [r.name, r.address])).map((l) => `  ${l}`),
    );
  if (plan.ha) out.push("", "High availability (Proxmox HA)", ...renderHa(plan.ha));
  if (plan.secrets.length) out.push("", `Secrets needed (pulumi config set --secret phoenix:<name>): ${plan.secrets.join(", ")}`);
  return out.join("\n");
}

/** Each HA guest's sid and options, then each rule: a node preference (most preferred first) or a group kept apart. */
function renderHa(ha: PlannedHa): string[] {
  return [
    ...ha.resources.map((r) => `  ${r.guest} (${r.sid}): ${r.state}, max_restart ${r.maxRestart}, max_relocate ${r.maxRelocate}`),
    ...ha.rules.map((r) =>
      r.type === "node-affinity"
        ? `  rule ${r.rule}: ${r.guests[0]} on ${Object.entries(r.nodes!)
            .sort(([, a], [, b]) => b - a)
            .map(([n]) => n)
            .join(" > ")}${r.strict ? " only" : ", else any node"}`
        : `  rule ${r.rule}: ${r.guests.join(", ")} on different nodes`,
    ),
  ];
}
