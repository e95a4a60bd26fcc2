// A VM's NoCloud seed (the files of its cloud-init config drive), made from its Proxmox config as Proxmox
// makes one: ciuser/cipassword/sshkeys for the user, ipconfigN for the interface with netN's MAC, nameserver
// and searchdomain. Pure: the lab writes the files into an ISO labelled cidata.
import { createHash } from "node:crypto";
import { type PveConfig, qemuNicMac } from "../pve/pve-config";

export interface SeedOptions {
  /** The lab's apt proxy, which guests use as they have no other way out (lab-only, as for containers). */
  aptProxy?: string;
}

export interface NoCloudSeed {
  "meta-data": string;
  "user-data": string;
  "network-config": string;
}

const q = (s: string) => JSON.stringify(s);

export function netDevices(config: PveConfig): { index: number; mac: string; bridge: string }[] {
  return Object.keys(config)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((k) => {
      const parts = Object.fromEntries(config[k]!.split(",").map((p) => p.split("=") as [string, string]));
      const mac = qemuNicMac(parts);
      if (!mac || !parts.bridge) throw new Error(`${k}: '${config[k]}' has no model=MAC or no bridge`);
      return { index: Number(k.slice(3)), mac: mac.toLowerCase(), bridge: parts.bridge };
    });
}

export function noCloudSeed(vmid: number, config: PveConfig, opts: SeedOptions = {}): NoCloudSeed {
  const hostname = config.name ?? `vm${vmid}`;
  const user = config.ciuser ?? "root";
  const keys = decodeURIComponent(config.sshkeys ?? "")
    .split("\n")
    .map((k) => k.trim())
    .filter(Boolean);
  const password = config.cipassword;
  const userData = [
    "#cloud-config",
    `hostname: ${q(hostname)}`,
    "manage_etc_hosts: true",
    ...(user === "root"
      ? ["disable_root: false", ...(keys.length ? ["ssh_authorized_keys:", ...keys.map((k) => `  - ${q(k)}`)] : [])]
      : [
          "users:",
          `  - name: ${q(user)}`,
          "    sudo: ALL=(ALL) NOPASSWD:ALL",
          "    shell: /bin/bash",
          ...(password
            ? [
                password.startsWith("$") ? `    passwd: ${q(password)}` : `    plain_text_passwd: ${q(password)}`,
                "    lock_passwd: false",
              ]
            : []),
          ...(keys.length ? ["    ssh_authorized_keys:", ...keys.map((k) => `      - ${q(k)}`)] : []),
        ]),
    ...(opts.aptProxy ? ["apt:", `  proxy: ${q(opts.aptProxy)}`] : []),
  ];
  const network = ["version: 1", "config:"];
  for (const nic of netDevices(config)) {
    const ip = Object.fromEntries(
      (config[`ipconfig${nic.index}`] ?? "")
        .split(",")
        .filter(Boolean)
        .map((p) => p.split("=") as [string, string]),
    );
    network.push("  - type: physical", `    name: eth${nic.index}`, `    mac_address: ${q(nic.mac)}`, "    subnets:");
    if (!ip.ip || ip.ip === "dhcp") network.push("      - type: dhcp");
    else network.push("      - type: static", `        address: ${q(ip.ip)}`, ...(ip.gw ? [`        gateway: ${q(ip.gw)}`] : []));
  }
  const servers = (config.nameserver ?? "").split(/\s+/).filter(Boolean);
  if (servers.length || config.searchdomain)
    network.push(
      "  - type: nameserver",
      `    address: [${servers.map(q).join(", ")}]`,
      ...(config.searchdomain ? [`    search: [${q(config.searchdomain)}]`] : []),
    );
  return {
    // A new instance id whenever the config changes makes cloud-init apply it again, as Proxmox's does.
    "meta-data": `instance-id: ${q(
      `vm${vmid}-${createHash("sha256")
        .update(JSON.stringify([userData, network]))
        .digest("hex")
        .slice(0, 12)}`,
    )}\nlocal-hostname: ${q(hostname)}\n`,
    "user-data": `${userData.join("\n")}\n`,
    "network-config": `${network.join("\n")}\n`,
  };
}
