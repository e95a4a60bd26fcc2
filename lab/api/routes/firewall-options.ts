// …/firewall/options of the datacenter, of nodes and of guests: pve-firewall's [OPTIONS], only what was set (the
// defaults — datacenter enable 0, node enable 1, guest enable 0, policy_in DROP, policy_out ACCEPT — are the readers'
// to know), with a digest.
import { fwDigest } from "../../pve/firewall-config";
import type { ParamSchema } from "../../pve/schema";
import type { ApiContext } from "../context";
import { paramError } from "../errors";
import { DIGEST, type FwLevel, assertDigest, changeFw, readFw } from "../firewall-level";
import type { Route } from "../router";

const POLICY = { type: "string", enum: ["ACCEPT", "REJECT", "DROP"], optional: true } as const;
const LOG_LEVEL = {
  type: "string",
  enum: ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"],
  optional: true,
} as const;
const BOOL = { type: "boolean", optional: true } as const;

export const CLUSTER_OPTIONS: ParamSchema = {
  enable: { type: "integer", minimum: 0, optional: true },
  ebtables: BOOL,
  log_ratelimit: {
    type: "string",
    format: {
      enable: { type: "boolean", defaultKey: true },
      burst: { type: "integer", minimum: 0, optional: true },
      rate: { type: "string", pattern: "[1-9][0-9]*/(second|minute|hour|day)", optional: true },
    },
    optional: true,
  },
  policy_in: POLICY,
  policy_out: POLICY,
  policy_forward: { type: "string", enum: ["ACCEPT", "DROP"], optional: true },
};

export const GUEST_OPTIONS: ParamSchema = {
  enable: BOOL,
  dhcp: BOOL,
  ipfilter: BOOL,
  log_level_in: LOG_LEVEL,
  log_level_out: LOG_LEVEL,
  macfilter: BOOL,
  ndp: BOOL,
  policy_in: POLICY,
  policy_out: POLICY,
  radv: BOOL,
};

/** A node's host.fw [OPTIONS] (pve-firewall's host_option_properties). */
export const HOST_OPTIONS: ParamSchema = {
  enable: BOOL,
  log_level_in: LOG_LEVEL,
  log_level_out: LOG_LEVEL,
  log_level_forward: LOG_LEVEL,
  tcp_flags_log_level: LOG_LEVEL,
  smurf_log_level: LOG_LEVEL,
  nosmurfs: BOOL,
  tcpflags: BOOL,
  nf_conntrack_max: { type: "integer", minimum: 32768, optional: true },
  nf_conntrack_tcp_timeout_established: { type: "integer", minimum: 7875, optional: true },
  nf_conntrack_tcp_timeout_syn_recv: { type: "integer", minimum: 30, maximum: 60, optional: true },
  ndp: BOOL,
  nf_conntrack_allow_invalid: BOOL,
  nf_conntrack_helpers: {
    type: "string",
    pattern: "(?:(?:amanda|ftp|irc|netbios-ns|pptp|sane|sip|snmp|tftp)(?:,|$))*",
    optional: true,
  },
  protection_synflood: BOOL,
  protection_synflood_rate: { type: "integer", optional: true },
  protection_synflood_burst: { type: "integer", optional: true },
  log_nf_conntrack: BOOL,
  nftables: BOOL,
};

export function firewallOptionRoutes(ctx: ApiContext, level: FwLevel, options: ParamSchema): Route[] {
  const path = `${level.base}/options`;
  return [
    {
      method: "GET",
      path,
      schema: { ...level.pathSchema },
      handler: async ({ params }) => {
        const fw = await readFw(ctx, await level.file(params));
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(fw.options)) {
          const s = options[k];
          out[k] = s && (s.type === "boolean" || s.type === "integer") ? Number(v) : v;
        }
        return { ...out, digest: fwDigest(fw.options) };
      },
    },
    {
      method: "PUT",
      path,
      schema: {
        ...level.pathSchema,
        ...options,
        delete: { type: "string", format: "pve-configid-list", optional: true },
        digest: DIGEST,
      },
      handler: async ({ params }) => {
        const deletes = (params.delete ?? "").split(/[,; ]+/).filter(Boolean);
        const both = deletes.filter((k) => params[k] !== undefined);
        if (both.length)
          throw paramError(Object.fromEntries(both.map((k) => [k, `cannot set and delete '${k}' at the same time`])));
        await changeFw(ctx, await level.file(params), (fw) => {
          assertDigest(fw.options, params.digest);
          for (const k of deletes) delete fw.options[k];
          for (const k of Object.keys(options)) if (params[k] !== undefined) fw.options[k] = params[k];
        });
        return null;
      },
    },
  ];
}
