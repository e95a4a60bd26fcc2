// Node resources: GPUs, storage, ZFS datasets, mount points, and memory/core capacity.
import { type Problem, error, warning } from "../definition/problems";
import type { Index, Machine } from "../definition/resolve";
import type { Node } from "../definition/schema";
import { PROPERTY_PATH, PROPERTY_SUBDIR } from "../definition/grammar";
import { hostAccessOptions } from "../definition/lxc-options";

export function checkResources(ix: Index): Problem[] {
  const out: Problem[] = [];
  ix.def.nodes.forEach((n, i) => checkNode(n, `nodes[${i}]`, out));

  for (const { t, path } of ix.bases.values()) {
    const node = ix.nodeOf(t.node);
    if (node) checkStorageRef(node, `${path}.source.storage`, t.source.storage, t.type === "lxc" ? "vztmpl" : "iso", out);
  }
  for (const m of ix.machines) {
    const eff = ix.effective(m);
    const node = eff.node;
    if (!node) continue;
    m.def.gpus?.forEach((g, k) => {
      if (!node.gpus.some((x) => x.index === g))
        out.push(
          error(
            `${m.path}.gpus[${k}]`,
            `GPU ${g} does not exist on node '${node.name}'`,
            node.gpus.length
              ? `use one of: ${node.gpus.map((x) => x.index).join(", ")}`
              : `declare it under the node's gpus with its PCI address`,
          ),
        );
    });
    if (m.type === "vm")
      for (const g of eff.gpus) {
        const gpu = node.gpus.find((x) => x.index === g);
        if (gpu && (gpu.pci === undefined || gpu.deviceId === undefined))
          out.push(
            error(
              `${m.path}.gpus`,
              `VM '${m.name}' needs GPU ${g}'s PCI address and device id to pass it through`,
              `set pci and deviceId on GPU ${g} of node '${node.name}' (lspci -Dnn | grep -i nvidia)`,
            ),
          );
      }
    if (m.def.gpus && new Set(m.def.gpus).size !== m.def.gpus.length)
      out.push(error(`${m.path}.gpus`, "a GPU index is listed twice", "list each GPU once"));
    if (m.def.disk)
      checkStorageRef(node, `${m.path}.disk.storage`, m.def.disk.storage, m.type === "lxc" ? "rootdir" : "images", out);
    if (m.kind === "template" && m.type === "lxc" && !node.ssh)
      out.push(
        error(
          `${m.path}.node`,
          `golden template '${m.name}' is frozen through SSH to node '${node.name}', which has none`,
          `set ssh on node '${node.name}'`,
        ),
      );
    checkMountPoints(m, node, out);
    checkCapacity(m, node, out);
  }

  ix.def.nodes.forEach((n, i) => {
    const api = n.api;
    if (!api) return;
    const path = `nodes[${i}].api`;
    if ((api.token === undefined) === (api.password === undefined))
      out.push(
        error(
          path,
          "give either token or username and password",
          "set token: { secret: … }, or username: root@pam with password: { secret: … }",
        ),
      );
    if (api.password !== undefined && api.username === undefined)
      out.push(error(`${path}.username`, "a password needs its username", "set username, e.g. root@pam"));
    if ((api.username !== undefined && api.username !== "root@pam") || api.token !== undefined) {
      // Proxmox refuses these to anyone but root@pam itself, API tokens included.
      const needsRoot = ix.machines.find((m) => {
        const e = ix.effective(m);
        return (
          e.node === n &&
          m.type === "lxc" &&
          (e.gpus.length > 0 ||
            m.def.mountPoints.length > 0 ||
            m.def.keyctl === true ||
            (e.nesting && e.unprivileged && e.features.docker !== undefined && m.def.keyctl !== false))
        );
      });
      if (needsRoot)
        out.push(
          error(
            path,
            `'${needsRoot.name}' needs GPU passthrough, bind mounts or keyctl, which Proxmox lets only root@pam set (not its API tokens)`,
            "log in as root@pam: username: root@pam, password: { secret: … }",
          ),
        );
      // Raw options that reach the node are bind mounts, devices and more by another name: the same rule.
      const reaching = ix.machines.find(
        (m) => ix.effective(m).node === n && m.type === "lxc" && hostAccessOptions(m.def.lxcOptions).length > 0,
      );
      if (reaching && !needsRoot)
        out.push(
          error(
            path,
            `'${reaching.name}' sets lxcOptions that reach the node (${hostAccessOptions(reaching.def.lxcOptions)
              .map((o) => o.key)
              .join(", ")}); like bind mounts, Proxmox lets only root@pam set them (not its API tokens)`,
            "log in as root@pam: username: root@pam, password: { secret: … }",
          ),
        );
    }
  });

  for (const n of ix.def.nodes) {
    const guests = ix.machines.filter((m) => m.kind === "guest" && ix.effective(m).node === n);
    // A GPU passed through to a VM is detached from the host driver, so no container can use it.
    for (const vm of guests.filter((m) => m.type === "vm"))
      for (const g of ix.effective(vm).gpus) {
        const ct = guests.find((m) => m.type === "lxc" && ix.effective(m).gpus.includes(g));
        if (ct)
          out.push(
            error(
              `${vm.path}.gpus`,
              `GPU ${g} is passed through to VM '${vm.name}' and also used by container '${ct.name}'`,
              "a GPU given to a VM leaves the host; give the VM its own GPU",
            ),
          );
      }
    const mem = guests.reduce((s, m) => s + (ix.effective(m).memory ?? 0), 0);
    const cores = guests.reduce((s, m) => s + (ix.effective(m).cores ?? 0), 0);
    const path = `nodes[${ix.def.nodes.indexOf(n)}]`;
    // Up to the node's declared overcommit is what the definition asked for; past it, a warning with the figures.
    if (n.memory !== undefined && mem > n.memory * (n.overcommit?.memory ?? 1))
      out.push(
        warning(
          `${path}.memory`,
          `guests on '${n.name}' ask for ${mem} MiB of memory in total, the node has ${n.memory} MiB (overcommit ${(mem / n.memory).toFixed(2)}×)`,
          "fine if they don't all peak at once; otherwise lower some guests' memory",
        ),
      );
    if (n.cores !== undefined && cores > n.cores * (n.overcommit?.cpu ?? 1))
      out.push(
        warning(
          `${path}.cores`,
          `guests on '${n.name}' ask for ${cores} cores in total, the node has ${n.cores} (overcommit ${(cores / n.cores).toFixed(2)}×)`,
          "fine for bursty loads; otherwise lower some guests' cores",
        ),
      );
  }
  return out;
}

function checkNode(n: Node, path: string, out: Problem[]) {
  if (n.nvidia?.installOnHost && !n.ssh)
    out.push(
      error(
        `${path}.nvidia.installOnHost`,
        `the NVIDIA driver is installed on node '${n.name}' over SSH, and the node has no ssh`,
        `set ${path}.ssh (host, user, privateKey), or install the driver by hand and set installOnHost: false`,
      ),
    );
  if (n.nvidia?.installOnHost && !n.nvidia.runfileSha256)
    out.push(
      error(
        `${path}.nvidia.runfileSha256`,
        `installOnHost runs NVIDIA's runfile as root on node '${n.name}', and no checksum says which file may run`,
        `set ${path}.nvidia.runfileSha256 to the sha256 of NVIDIA-Linux-x86_64-${n.nvidia.driverVersion}.run ` +
          "(sha256sum of the file from NVIDIA's download page), or install the driver by hand and set installOnHost: false",
      ),
    );
  const idx = new Set<number>();
  const pci = new Set<string>();
  n.gpus.forEach((g, k) => {
    if (idx.has(g.index))
      out.push(
        error(
          `${path}.gpus[${k}].index`,
          `GPU index ${g.index} is declared twice on node '${n.name}'`,
          "give each GPU its own index",
        ),
      );
    idx.add(g.index);
    if (g.pci === undefined) return;
    const addr = g.pci.length === 7 ? `0000:${g.pci}` : g.pci;
    if (pci.has(addr.toLowerCase()))
      out.push(
        error(
          `${path}.gpus[${k}].pci`,
          `PCI address ${g.pci} is declared twice on node '${n.name}'`,
          "each GPU has its own PCI address (lspci -D)",
        ),
      );
    pci.add(addr.toLowerCase());
  });
  const storageIds = new Set<string>();
  n.storage.forEach((s, k) => {
    if (storageIds.has(s.id))
      out.push(error(`${path}.storage[${k}].id`, `storage '${s.id}' is declared twice`, "give each storage one entry"));
    storageIds.add(s.id);
    if (s.type === "zfspool" && !s.pool)
      out.push(
        error(
          `${path}.storage[${k}].pool`,
          `zfspool storage '${s.id}' needs the ZFS dataset it lives on`,
          "set pool, e.g. tank/lxc-disks",
        ),
      );
    if (s.type === "dir" && !s.path)
      out.push(error(`${path}.storage[${k}].path`, `dir storage '${s.id}' needs a path`, "set path, e.g. /var/lib/vz"));
  });
  if (n.zfs.datasets.length > 0 && !n.ssh)
    out.push(
      error(
        `${path}.ssh`,
        `node '${n.name}' declares ZFS datasets but no SSH access to manage them`,
        "set ssh: { host, user, privateKey: { secret: … } }",
      ),
    );
  const pools = new Set(n.zfs.pools.map((p) => p.name));
  const names = new Set<string>();
  n.zfs.datasets.forEach((d, k) => {
    const dp = `${path}.zfs.datasets[${k}]`;
    if (names.has(d.name)) out.push(error(`${dp}.name`, `dataset '${d.name}' is declared twice`, "give each dataset one entry"));
    names.add(d.name);
    const pool = d.name.split("/")[0]!;
    if (!pools.has(pool))
      out.push(
        error(
          `${dp}.name`,
          `dataset '${d.name}' is on pool '${pool}', which node '${n.name}' does not declare`,
          `add { name: ${pool} } to ${path}.zfs.pools`,
        ),
      );
    const mountpoint = d.properties["mountpoint"];
    if (typeof mountpoint === "string" && !["none", "legacy"].includes(mountpoint) && !PROPERTY_PATH.test(mountpoint))
      out.push(
        error(
          `${dp}.properties.mountpoint`,
          `mountpoint ${JSON.stringify(mountpoint)} is not an absolute path without ',', '=', white space or '..' (guests' mount points are built from it)`,
          "use an absolute path such as /mnt/models, or none / legacy",
        ),
      );
    const parent = d.name.slice(0, d.name.lastIndexOf("/"));
    if (parent.includes("/") && !n.zfs.datasets.some((x) => x.name === parent))
      out.push(error(`${dp}.name`, `parent dataset '${parent}' is not declared`, `declare '${parent}' before '${d.name}'`));
  });
  const seenProfiles = new Set<string>();
  n.apparmorProfiles.forEach((a, k) => {
    if (seenProfiles.has(a.name))
      out.push(
        error(
          `${path}.apparmorProfiles[${k}].name`,
          `AppArmor profile '${a.name}' is declared twice`,
          "give each profile one entry",
        ),
      );
    seenProfiles.add(a.name);
  });
}

function checkStorageRef(node: Node, path: string, id: string, content: string, out: Problem[]) {
  const s = node.storage.find((x) => x.id === id);
  if (!s) {
    out.push(
      error(
        path,
        `unknown storage '${id}' on node '${node.name}'`,
        node.storage.length ? `use one of: ${node.storage.map((x) => x.id).join(", ")}` : "declare it under the node's storage",
      ),
    );
    return;
  }
  if (s.content.length > 0 && !s.content.includes(content as never) && !(content === "iso" && s.content.includes("import")))
    out.push(
      error(
        path,
        `storage '${id}' does not hold ${content} content (it holds ${s.content.join(", ")})`,
        `add ${content} to its content, or use another storage`,
      ),
    );
}

function checkMountPoints(m: Machine, node: Node, out: Problem[]) {
  const paths = new Set<string>();
  m.def.mountPoints.forEach((mp, k) => {
    const path = `${m.path}.mountPoints[${k}]`;
    if (paths.has(mp.path)) out.push(error(`${path}.path`, `${mp.path} is mounted twice in '${m.name}'`, "mount each path once"));
    paths.add(mp.path);
    if ((mp.dataset === undefined) === (mp.hostPath === undefined)) {
      out.push(
        error(
          path,
          "a mount point needs exactly one of dataset or hostPath",
          "set dataset (a ZFS dataset of the node) or hostPath",
        ),
      );
      return;
    }
    if (mp.dataset !== undefined && !node.zfs.datasets.some((d) => d.name === mp.dataset))
      out.push(
        error(
          `${path}.dataset`,
          `unknown dataset '${mp.dataset}' on node '${node.name}'`,
          node.zfs.datasets.length
            ? `declare it under the node's zfs.datasets, or use one of: ${node.zfs.datasets.map((d) => d.name).join(", ")}`
            : "declare it under the node's zfs.datasets",
        ),
      );
    if (mp.subdir !== undefined && (mp.dataset === undefined || mp.subdir.split("/").includes("..")))
      out.push(
        error(`${path}.subdir`, "subdir is a relative directory inside the mounted dataset", "use it with dataset, without '..'"),
      );
    else if (mp.subdir !== undefined && !PROPERTY_SUBDIR.test(mp.subdir))
      out.push(error(`${path}.subdir`, `subdir ${JSON.stringify(mp.subdir)} ${PROPERTY_STRING_PROBLEM}`, PROPERTY_STRING_FIX));
    if (mp.hostPath !== undefined && !mp.hostPath.startsWith("/"))
      out.push(error(`${path}.hostPath`, `hostPath ${mp.hostPath} is not absolute`, "write the full path on the node"));
    else if (mp.hostPath !== undefined && !PROPERTY_PATH.test(mp.hostPath))
      out.push(
        error(`${path}.hostPath`, `hostPath ${JSON.stringify(mp.hostPath)} ${PROPERTY_STRING_PROBLEM}`, PROPERTY_STRING_FIX),
      );
    if (!PROPERTY_PATH.test(mp.path))
      out.push(error(`${path}.path`, `path ${JSON.stringify(mp.path)} ${PROPERTY_STRING_PROBLEM}`, PROPERTY_STRING_FIX));
  });
}

/** Proxmox writes mount points as property strings (mp0: <source>,mp=<path>,…): these characters are its syntax. */
const PROPERTY_STRING_PROBLEM =
  "holds ',', '=', white space, a control character or a '..' part (or is over 4096 characters), which Proxmox's mount point option would misread";
const PROPERTY_STRING_FIX = "rename the directory (or mount a parent) so the path has none of them";

function checkCapacity(m: Machine, node: Node, out: Problem[]) {
  // bpg's provider takes at most 128 cores for a container and 2304 for a VM (Proxmox's own limits are higher).
  const maxCores = m.type === "lxc" ? 128 : 2304;
  if (m.def.cores !== undefined && m.def.cores > maxCores)
    out.push(
      error(
        `${m.path}.cores`,
        `'${m.name}' asks for ${m.def.cores} cores; a ${m.type === "lxc" ? "container" : "VM"} gets at most ${maxCores}`,
        `use at most ${maxCores}`,
      ),
    );
  if (node.memory !== undefined && m.def.memory !== undefined && m.def.memory > node.memory)
    out.push(
      error(
        `${m.path}.memory`,
        `'${m.name}' asks for ${m.def.memory} MiB, node '${node.name}' has ${node.memory} MiB`,
        `use at most ${node.memory}`,
      ),
    );
  if (node.cores !== undefined && m.def.cores !== undefined && m.def.cores > node.cores)
    out.push(
      error(
        `${m.path}.cores`,
        `'${m.name}' asks for ${m.def.cores} cores, node '${node.name}' has ${node.cores}`,
        `use at most ${node.cores}`,
      ),
    );
}
