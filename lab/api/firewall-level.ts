// Where a firewall API call's data lives (datacenter, node or guest), read and written as pve-firewall's files under
// the lock pve-firewall takes around every change (lock_clusterfw_conf, lock_vmfw_conf), with its digest check.
import type { GuestType } from "../pve/backend";
import { KeyedMutex } from "../pve/config-lock";
import { type FwFile, emptyFwFile, fwDigest, parseFwFile, printFwFile } from "../pve/firewall-config";
import type { RuleEnv } from "../pve/firewall-rules";
import type { ParamSchema } from "../pve/schema";
import { VMID } from "../pve/lxc-schema";
import { type ApiContext, loadConfig, requireNode } from "./context";
import { modifiedConfig } from "./errors";

export const CLUSTER_FW = "firewall/cluster.fw";

export interface FwLevel {
  /** The API path of the level's firewall, e.g. /nodes/{node}/lxc/{vmid}/firewall. */
  base: string;
  env: RuleEnv;
  /** Its path parameters. */
  pathSchema: ParamSchema;
  /** Checks the path's node and guest; the file's path below /etc/pve. */
  file(params: Record<string, string>): Promise<string>;
}

const NODE = { node: { type: "string", format: "pve-node" } } as const;

export function clusterLevel(): FwLevel {
  return { base: "/cluster/firewall", env: "cluster", pathSchema: {}, file: async () => CLUSTER_FW };
}

export function nodeLevel(ctx: ApiContext): FwLevel {
  return {
    base: "/nodes/{node}/firewall",
    env: "host",
    pathSchema: NODE,
    file: async (p) => {
      requireNode(ctx, p.node!);
      return `nodes/${ctx.node}/host.fw`;
    },
  };
}

export function guestLevel(ctx: ApiContext, type: GuestType): FwLevel {
  return {
    base: `/nodes/{node}/${type}/{vmid}/firewall`,
    env: type === "lxc" ? "ct" : "vm",
    pathSchema: { ...NODE, vmid: VMID },
    file: async (p) => {
      requireNode(ctx, p.node!);
      await loadConfig(ctx, type, Number(p.vmid));
      return `firewall/${Number(p.vmid)}.fw`;
    },
  };
}

const locks = new KeyedMutex();

export async function readFw(ctx: ApiContext, path: string): Promise<FwFile> {
  const text = await ctx.backend.readFirewall(path);
  return text === undefined ? emptyFwFile() : parseFwFile(text);
}

/** Reads the file, lets `change` edit it (the datacenter's file too, for checks) and writes it back, all locked. */
export async function changeFw<T>(ctx: ApiContext, path: string, change: (fw: FwFile, cluster: FwFile) => T): Promise<T> {
  return locks.run(path, async () => {
    const fw = await readFw(ctx, path);
    const cluster = path === CLUSTER_FW ? fw : await readFw(ctx, CLUSTER_FW);
    const result = change(fw, cluster);
    await ctx.backend.writeFirewall(path, printFwFile(fw));
    return result;
  });
}

/** PVE::Tools::assert_if_modified. */
export function assertDigest(current: unknown, given: string | undefined): void {
  if (given !== undefined && given !== fwDigest(current)) throw modifiedConfig();
}

export const DIGEST = { type: "string", maxLength: 64, optional: true } as const;
export const COMMENT = { type: "string", optional: true } as const;
export const FW_NAME = { type: "string", pattern: "[A-Za-z][A-Za-z0-9\\-\\_]+", minLength: 2, maxLength: 64 } as const;
/** A `rename`: bpg's provider sends it empty when nothing is renamed, which then renames nothing. */
export const RENAME = { type: "string", pattern: "(?:[A-Za-z][A-Za-z0-9\\-\\_]+)?", maxLength: 64, optional: true } as const;
