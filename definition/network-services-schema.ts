// The shape of a definition's network services (the Proxmox firewall, internal DNS names, the HTTPS gateway), kept
// apart from schema.ts so each service's fields read in one place. Shape only: cross-field rules live in validate/.
import { z } from "zod";
import { DNS_LABEL, ONE_LINE } from "./grammar";

/** A guest's or node's name as the definition spells it. */
const machineName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, "a guest or node name of this definition")
  .max(63);
const label = z.string().regex(DNS_LABEL, "one DNS label: lower-case letters, digits and '-' (e.g. portainer)");
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, "an IPv4 address such as 10.0.0.1");
const comment = z.string().regex(ONE_LINE, "one line of text").max(512);
/** Proxmox's firewall object names (aliases, IP sets, security groups): a letter, then letters, digits, '-' and '_'. */
const fwName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{1,31}$/, "a letter, then 1-31 letters, digits, '-' or '_' (Proxmox's firewall names)");
/** An interface: a guest's (net0 …) or, in the datacenter's rules, a node's (vmbr0 …). */
const iface = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/, "an interface name: net0 on a guest, a node's such as vmbr0 in the datacenter");
const policy = z.enum(["ACCEPT", "DROP", "REJECT"]);
/** pve-firewall's log levels (syslog's); nolog logs nothing. */
const logLevel = z.enum(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"]);
/** A port, a range a:b, or a comma list of both: Proxmox's dport/sport. */
const ports = z
  .string()
  .regex(/^\d{1,5}(:\d{1,5})?(,\d{1,5}(:\d{1,5})?)*$/, "a port (443), a range (8000:8010) or a comma list of both");
/**
 * Where a rule's traffic comes from or goes to: an address or CIDR, an alias (by name), an IP set (+name), or a
 * guest of this definition by name (its planned address). A comma list of addresses is Proxmox's too.
 */
const endpoint = z
  .string()
  .regex(/^[+A-Za-z0-9][A-Za-z0-9_.:/,+-]*$/, "an address, a CIDR, an alias, +ipset or a guest's name")
  .max(512);

/** A rule of the Proxmox firewall, with Proxmox's own field names (pve-firewall's rule format). */
export const FirewallRule = z
  .object({
    type: z.enum(["in", "out"]).default("in"),
    action: policy,
    /** One of Proxmox's macros (SSH, HTTP, DNS …) instead of proto and ports. */
    macro: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]*$/, "a macro name such as SSH or HTTPS")
      .optional(),
    proto: z
      .string()
      .regex(/^[a-z0-9-]+$|^\d{1,3}$/, "a protocol name (tcp, udp, icmp …) or number")
      .optional(),
    dport: ports.optional(),
    sport: ports.optional(),
    source: endpoint.optional(),
    dest: endpoint.optional(),
    /** The interface the rule applies to (a guest's net0 …, a node's vmbr0 …); all when unset. */
    iface: iface.optional(),
    /** Log what this rule matches at this level (pve-firewall's log, at most a packet a second); nolog by default. */
    log: logLevel.optional(),
    enable: z.boolean().default(true),
    comment: comment.optional(),
  })
  .strict();

/** A security group's rules inserted at this place (Proxmox's rule of type group). */
export const FirewallGroupRule = z
  .object({
    group: fwName,
    iface: iface.optional(),
    enable: z.boolean().default(true),
    comment: comment.optional(),
  })
  .strict();

export const AnyFirewallRule = z.union([FirewallGroupRule, FirewallRule]);

/** The datacenter's firewall (cluster.fw): policy, its own rules (the nodes' traffic), groups, aliases, IP sets. */
export const DatacenterFirewall = z
  .object({
    /** Off, no guest's firewall is applied either (Proxmox's rule). */
    enable: z.boolean().default(true),
    policyIn: policy.default("DROP"),
    policyOut: policy.default("ACCEPT"),
    rules: z.array(AnyFirewallRule).default([]),
    groups: z
      .array(z.object({ name: fwName, comment: comment.optional(), rules: z.array(FirewallRule).default([]) }).strict())
      .default([]),
    aliases: z
      .array(
        z
          .object({
            name: fwName,
            cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, "an address or CIDR"),
            comment: comment.optional(),
          })
          .strict(),
      )
      .default([]),
    ipsets: z
      .array(
        z
          .object({
            name: fwName,
            comment: comment.optional(),
            cidrs: z
              .array(
                z
                  .object({
                    cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, "an address or CIDR"),
                    nomatch: z.boolean().default(false),
                    comment: comment.optional(),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** A guest's own firewall: options (its <vmid>.fw [OPTIONS]) and rules. Interfaces opt in with network[].firewall. */
export const GuestFirewall = z
  .object({
    enable: z.boolean().default(true),
    policyIn: policy.default("DROP"),
    policyOut: policy.default("ACCEPT"),
    macfilter: z.boolean().default(true),
    ipfilter: z.boolean().default(false),
    dhcp: z.boolean().default(true),
    /** Log what the DROP or REJECT policy of each direction drops, at this level (log_level_in/out); nolog by default. */
    logLevelIn: logLevel.default("nolog"),
    logLevelOut: logLevel.default("nolog"),
    rules: z.array(AnyFirewallRule).default([]),
  })
  .strict();

/** A service a guest or an app offers through the gateway: https://<name>.<domain> → its address and port. */
export const Expose = z
  .object({
    name: label,
    port: z.number().int().min(1).max(65535),
    /** How the gateway talks to the service (https upstreams are not verified: they are the guest's own). */
    scheme: z.enum(["http", "https"]).default("http"),
  })
  .strict();

/** An internal DNS server on a node (dnsmasq): <guest>.<domain> and <service>.<domain> for every guest and service. */
export const Dns = z
  .object({
    /** The node that runs it; the first node when unset. */
    node: machineName.optional(),
    /** The address it listens on (the node's on the bridge); the node's SSH host when that is an address. */
    listen: ipv4.optional(),
    /** Servers it forwards other names to; the listen bridge's dns when unset; [] answers only its own names. */
    upstream: z.array(ipv4).optional(),
    /** Point guests without nameservers of their own at it. */
    useInGuests: z.boolean().default(true),
  })
  .strict();

/** The HTTPS gateway (Caddy) in a guest of the definition, with its internal CA. */
export const Gateway = z
  .object({
    guest: machineName,
    /** Install the CA's root certificate in every guest's trust store. */
    trustInGuests: z.boolean().default(true),
  })
  .strict();

export type FirewallRule = z.infer<typeof FirewallRule>;
export type FirewallGroupRule = z.infer<typeof FirewallGroupRule>;
export type AnyFirewallRule = z.infer<typeof AnyFirewallRule>;
export type DatacenterFirewall = z.infer<typeof DatacenterFirewall>;
export type GuestFirewall = z.infer<typeof GuestFirewall>;
export type Expose = z.infer<typeof Expose>;
export type Dns = z.infer<typeof Dns>;
export type Gateway = z.infer<typeof Gateway>;

export function isGroupRule(r: AnyFirewallRule): r is FirewallGroupRule {
  return "group" in r;
}
