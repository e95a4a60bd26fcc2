// Raw `lxc.*` options, classified by what they give a container on its node. Proxmox lets only root@pam write raw
// lxc keys, and some of them hand the guest the node itself: code run on the host (hooks, network scripts), the
// host's filesystem (bind mounts, fstab, rootfs, log files, writable /proc and /sys) or its devices.

export type HostAccess = "host code" | "host filesystem" | "host devices";

export interface LxcOption {
  key: string;
  value: string;
  /** What the option reaches on the node; undefined for options confined to the container. */
  access?: HostAccess;
  /** Why, in words, for error messages. */
  why?: string;
}

/** `lxc.key = value` or `lxc.key: value`, split (the schema already refused anything else). */
export function parseLxcOption(line: string): { key: string; value: string } | undefined {
  const m = /^(lxc\.[a-z0-9_.-]+)\s*[:=]\s*(.*?)\s*$/.exec(line);
  return m ? { key: m[1]!, value: m[2]! } : undefined;
}

function hostAccessOf(key: string, value: string): Pick<LxcOption, "access" | "why"> {
  if (/^lxc\.hook(\.|$)/.test(key)) return { access: "host code", why: "a hook runs a program on the node" };
  if (/^lxc\.net(work)?(\.\d+)?\.script\./.test(key))
    return { access: "host code", why: "a network script runs a program on the node" };
  if (key === "lxc.seccomp.notify.proxy")
    return { access: "host code", why: "a seccomp proxy lets a program on the node answer the guest's system calls" };
  if (key === "lxc.mount.entry") {
    const [source = "", , , options = ""] = value.split(/\s+/);
    if (source.startsWith("/") || /(^|,)r?bind(,|$)/.test(options))
      return { access: "host filesystem", why: `it mounts ${source || "a host path"} of the node into the guest` };
  }
  if (key === "lxc.mount.fstab") return { access: "host filesystem", why: "an fstab file mounts host paths into the guest" };
  if (key === "lxc.mount.auto" && /(^|\s)(proc|sys|cgroup|cgroup-full):rw(\s|$)|(^|\s)cgroup-full(\s|:|$)/.test(value))
    return { access: "host filesystem", why: "it mounts the node's /proc, /sys or cgroups writable" };
  if (key === "lxc.rootfs.path") return { access: "host filesystem", why: "it points the guest's root at a path of the node" };
  if (key === "lxc.log.file" || key === "lxc.console.logfile")
    return { access: "host filesystem", why: "it writes a file on the node" };
  if (/^lxc\.cgroup2?\.devices\.allow$/.test(key))
    return { access: "host devices", why: `it allows the node's devices (${value}) in the guest` };
  if (key === "lxc.console.path" || (/^lxc\.net\.\d+\.type$/.test(key) && value === "phys"))
    return { access: "host devices", why: "it hands a device of the node to the guest" };
  return {};
}

export function classifyLxcOption(line: string): LxcOption | undefined {
  const kv = parseLxcOption(line);
  return kv ? { ...kv, ...hostAccessOf(kv.key, kv.value) } : undefined;
}

/** The options of a list that reach the node, with their index. */
export function hostAccessOptions(lines: readonly string[]): (LxcOption & { index: number; access: HostAccess })[] {
  return lines.flatMap((l, index) => {
    const o = classifyLxcOption(l);
    return o?.access ? [{ ...o, access: o.access, index }] : [];
  });
}
