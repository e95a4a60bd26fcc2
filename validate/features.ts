// Features and what they need from the guest, counting what the clone chain already gives it.
import { type Problem, error, warning } from "../definition/problems";
import { type Index, type Machine, hasFeature } from "../definition/resolve";
import { BUILTIN_APPARMOR_PROFILES } from "../definition/schema";

export function checkFeatures(ix: Index): Problem[] {
  const out: Problem[] = [];
  const cudaVersions = new Map<string, string>();

  for (const m of ix.machines) {
    const eff = ix.effective(m);
    const f = eff.features;
    const own = m.def.features;
    const fp = `${m.path}.features`;
    const inherited = (name: string) =>
      own[name as keyof typeof own] === undefined ? ` (inherited from ${eff.chain.slice(0, -1).join(" → ")})` : "";

    if (m.type === "vm") {
      if (m.def.nesting !== undefined)
        out.push(error(`${m.path}.nesting`, "nesting applies to LXC containers only", "remove it from this VM"));
      if (m.def.unprivileged !== undefined)
        out.push(error(`${m.path}.unprivileged`, "unprivileged applies to LXC containers only", "remove it from this VM"));
      if (m.def.keyctl !== undefined)
        out.push(error(`${m.path}.keyctl`, "keyctl applies to LXC containers only", "remove it from this VM"));
      if (m.def.lxcOptions.length > 0)
        out.push(error(`${m.path}.lxcOptions`, "lxcOptions apply to LXC containers only", "remove them from this VM"));
      if (m.def.mountPoints.length > 0)
        out.push(
          error(
            `${m.path}.mountPoints`,
            "mount points onto host datasets apply to LXC containers only",
            "remove them, or use an LXC container",
          ),
        );
      if (own.apparmor)
        out.push(error(`${fp}.apparmor`, "AppArmor profiles are attached to LXC containers only", "remove it from this VM"));
      const provisioned =
        Object.entries(own).some(([k, v]) => v !== undefined && k !== "apparmor") || (m.def.healthChecks?.length ?? 0) > 0;
      if (provisioned && !ix.def.access.sshPrivateKey)
        out.push(
          error(
            "access.sshPrivateKey",
            `VM '${m.name}' is provisioned over SSH and needs the private half of one of access.sshKeys`,
            "set access.sshPrivateKey: { secret: <name> } and `pulumi config set --secret phoenix:<name> < key`",
          ),
        );
      if (provisioned && /^dhcp$/.test(m.def.network[0]?.ip ?? "dhcp"))
        out.push(
          error(
            `${m.path}.network[0].ip`,
            `VM '${m.name}' is provisioned over SSH at its first address, which must be known in advance`,
            'give it a static address or "auto" (from a pool)',
          ),
        );
    } else {
      if (m.def.cloudInit)
        out.push(
          error(`${m.path}.cloudInit`, "cloud-init applies to VMs only", "remove it; containers get keys from the create call"),
        );
      if (hasFeature(f, "docker") && !eff.nesting)
        out.push(
          error(
            `${fp}.docker`,
            `docker in LXC container '${m.name}' needs nesting${inherited("docker")}`,
            `set ${m.path}.nesting: true`,
          ),
        );
    }

    if (hasFeature(f, "vllm")) {
      if (!hasFeature(f, "nvidia"))
        out.push(
          error(
            `${fp}.vllm`,
            `vllm on '${m.name}' needs the nvidia feature`,
            "add features.nvidia, or clone from a template that has it",
          ),
        );
      if (eff.gpus.length === 0) out.push(error(`${fp}.vllm`, `vllm on '${m.name}' needs a GPU`, `set ${m.path}.gpus, e.g. [0]`));
      const tp = f.vllm?.tensorParallelSize;
      if (tp !== undefined && eff.gpus.length > 0 && tp > eff.gpus.length)
        out.push(
          error(
            `${fp}.vllm.tensorParallelSize`,
            `tensorParallelSize ${tp} exceeds the ${eff.gpus.length} GPU(s) '${m.name}' has`,
            `use at most ${eff.gpus.length}, or assign more GPUs`,
          ),
        );
      const v = eff.features.vllm;
      if (typeof v === "object" && v.install === "container") {
        if (!hasFeature(f, "docker"))
          out.push(
            error(
              `${fp}.vllm.install`,
              `vllm on '${m.name}' runs in a container and needs the docker feature`,
              "add features.docker, or use install: venv",
            ),
          );
        // A warning: the toolkit's hook may come from elsewhere (a custom image, the lab's test double).
        else if (!hasFeature(f, "nvidia-container-toolkit"))
          out.push(
            warning(
              `${fp}.vllm.install`,
              `vllm on '${m.name}' runs \`docker run --gpus all\`, which needs the NVIDIA Container Toolkit`,
              "add features.nvidia-container-toolkit",
            ),
          );
      }
      if (typeof v === "object" && v.image !== undefined && v.install !== "container")
        out.push(
          warning(
            `${fp}.vllm.image`,
            `vllm on '${m.name}' installs into a Python venv, so image '${v.image}' is not used`,
            "set install: container, or remove image",
          ),
        );
    }
    if (hasFeature(f, "nvidia-container-toolkit") && !hasFeature(f, "docker"))
      out.push(
        error(
          `${fp}.nvidia-container-toolkit`,
          `nvidia-container-toolkit on '${m.name}' needs the docker feature`,
          "add features.docker",
        ),
      );
    if (hasFeature(f, "nvidia-container-toolkit") && !hasFeature(f, "nvidia"))
      out.push(
        error(
          `${fp}.nvidia-container-toolkit`,
          `nvidia-container-toolkit on '${m.name}' needs the nvidia feature`,
          "add features.nvidia",
        ),
      );
    if (hasFeature(f, "portainer") && !hasFeature(f, "docker"))
      out.push(
        error(`${fp}.portainer`, `portainer on '${m.name}' runs on Docker and needs the docker feature`, "add features.docker"),
      );
    if (own.nvidia !== undefined && eff.node && !eff.node.nvidia)
      out.push(
        error(
          `${fp}.nvidia`,
          `nvidia on '${m.name}' installs the userland matching the node's driver, but node '${eff.node.name}' declares none`,
          `set nvidia.driverVersion on node '${eff.node.name}', e.g. 580.76.05`,
        ),
      );
    if (own.nvidia !== undefined && typeof own.nvidia === "object" && own.nvidia.cudaVersion)
      cudaVersions.set(`${fp}.nvidia.cudaVersion`, own.nvidia.cudaVersion);

    if (own.apparmor && eff.node) {
      const p = own.apparmor.profile;
      if (!BUILTIN_APPARMOR_PROFILES.has(p) && !eff.node.apparmorProfiles.some((a) => a.name === p))
        out.push(
          error(
            `${fp}.apparmor.profile`,
            `unknown AppArmor profile '${p}' on node '${eff.node.name}'`,
            `declare it under the node's apparmorProfiles, or use ${[...BUILTIN_APPARMOR_PROFILES][0]}`,
          ),
        );
    }
    checkPortainerAgent(ix, m, out);
  }
  checkPortainerServerPassword(ix, out);

  const versions = [...new Set(cudaVersions.values())];
  if (versions.length > 1) {
    const [firstPath] = cudaVersions.keys();
    for (const [path, v] of cudaVersions)
      if (path !== firstPath)
        out.push(
          error(
            path,
            `CUDA ${v} differs from CUDA ${cudaVersions.get(firstPath!)} at ${firstPath}`,
            `set cudaVersion: "${cudaVersions.get(firstPath!)}" here, or change every cudaVersion to one version: a definition pins one CUDA version for all its guests`,
          ),
        );
  }
  return out;
}

function checkPortainerAgent(ix: Index, m: Machine, out: Problem[]) {
  const p = ix.effective(m).features.portainer;
  if (!p || p.role !== "agent") return;
  if (m.kind === "guest") checkAgentAddress(m, out);
  const servers = ix.machines.filter((x) => x.kind === "guest" && ix.effective(x).features.portainer?.role === "server");
  const path = `${m.path}.features.portainer.server`;
  if (p.server !== undefined) {
    const s = ix.byName.get(p.server);
    if (!s) out.push(error(path, `unknown Portainer server '${p.server}'`, "name the guest whose portainer role is server"));
    else if (ix.effective(s).features.portainer?.role !== "server")
      out.push(error(path, `'${p.server}' is not a Portainer server`, "name the guest whose portainer role is server"));
  } else if (m.kind === "guest" && servers.length !== 1) {
    out.push(
      error(
        path,
        servers.length === 0
          ? "a Portainer agent needs a Portainer server, and none is declared"
          : `several Portainer servers are declared (${servers.map((s) => s.name).join(", ")})`,
        servers.length === 0 ? "declare a guest with features.portainer.role: server" : "name the one this agent registers with",
      ),
    );
  }
}

/** The server registers an agent at its guest's first address: the plan must know it. */
function checkAgentAddress(m: Machine, out: Problem[]) {
  const nic = m.def.network[0];
  if (!nic)
    out.push(
      error(
        `${m.path}.network`,
        `Portainer agent '${m.name}' has no network interface for its server to reach`,
        "add an interface with a static address or ip: auto",
      ),
    );
  else if (nic.ip === "dhcp")
    out.push(
      error(
        `${m.path}.network[0].ip`,
        `Portainer agent '${m.name}' is registered with its server at its address, and dhcp gives none the plan knows`,
        "use a static address (CIDR) or ip: auto from a pool",
      ),
    );
}

/** A server with agents registers them through its API, logged in as admin. */
function checkPortainerServerPassword(ix: Index, out: Problem[]) {
  const agentsOf = new Map<string, number>();
  const servers = ix.machines.filter((x) => x.kind === "guest" && ix.effective(x).features.portainer?.role === "server");
  for (const m of ix.machines) {
    const p = ix.effective(m).features.portainer;
    if (m.kind !== "guest" || p?.role !== "agent") continue;
    const server = p.server ?? (servers.length === 1 ? servers[0]!.name : undefined);
    if (server) agentsOf.set(server, (agentsOf.get(server) ?? 0) + 1);
  }
  for (const s of servers)
    if (agentsOf.has(s.name) && ix.effective(s).features.portainer?.adminPassword === undefined)
      out.push(
        error(
          `${s.path}.features.portainer.adminPassword`,
          `Portainer server '${s.name}' registers ${agentsOf.get(s.name)} agent(s) through its API, which needs the admin password`,
          "set adminPassword: { secret: portainerAdminPassword } and pulumi config set --secret phoenix:portainerAdminPassword …",
        ),
      );
}
