// On the node: a container's AppArmor profile and raw lxc.* options, in /etc/pve/lxc/<vmid>.conf.
import type * as pulumi from "@pulumi/pulumi";
import type { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, type RenderedFeature, featureResource, scriptOf } from "../engine/feature";
import { BUILTIN_APPARMOR_PROFILES } from "../../definition/schema";
import { requireProjectFile } from "../../definition/files";
import { HAS_CONTROL } from "../../definition/grammar";

/**
 * Raw options as Proxmox writes them, `lxc.key: value`, from either `lxc.key=value` or `lxc.key: value`. As in the
 * original system, `lxc.cap.keep=a,b` becomes one line per capability.
 */
/** How long the node-side step may take: a profile load and a container restart (override: timeouts.apparmor). */
export const APPARMOR_TIMEOUT_SECONDS = 300;

export function lxcConfigLines(options: string[]): string[] {
  const out: string[] = [];
  for (const option of options) {
    const m = /^(lxc\.[a-z0-9_.-]+)\s*[:=]\s*(.*?)\s*$/.exec(option);
    // One config line each: a newline, CR or other control character would start another (validation refuses them).
    if (!m || HAS_CONTROL.test(option)) throw new Error(`not a raw lxc option: ${JSON.stringify(option)}`);
    const [, key, value] = m;
    if (key === "lxc.cap.keep" && value!.includes(","))
      out.push(
        ...value!
          .split(",")
          .map((c) => `${key}: ${c.trim()}`)
          .filter((l) => !l.endsWith(": ")),
      );
    else out.push(`${key}: ${value}`);
  }
  return [...new Set(out)];
}

export interface AppArmorArgs {
  vmid: number;
  /** The container's profile (features.apparmor.profile), if it has one. */
  profile?: string;
  /** Profile source for profiles the node does not ship, already read. */
  profileText?: string;
  lxcOptions: string[];
  /** Restart a running container whose lines changed, so they apply. Default true. */
  restart?: boolean;
}

export function renderAppArmor(a: AppArmorArgs): RenderedFeature {
  const lines = lxcConfigLines([...(a.profile ? [`lxc.apparmor.profile: ${a.profile}`] : []), ...a.lxcOptions]);
  const lib = ["engine/lxc-config-lib.sh"];
  return {
    script: scriptOf(...lib, "apparmor/apparmor.sh"),
    checkScript: scriptOf(...lib, "apparmor/apparmor-check.sh"),
    deleteScript: scriptOf(...lib, "apparmor/apparmor-delete.sh"),
    params: {
      VMID: String(a.vmid),
      APPARMOR_PROFILE: a.profile ?? "",
      APPARMOR_PROFILE_TEXT: (a.profileText ?? "").replace(/\n+$/, ""),
      LXC_LINES: lines.join("\n"),
      LXC_RESTART: a.restart === false ? "0" : "1",
    },
    secretRefs: {},
    timeout: { seconds: APPARMOR_TIMEOUT_SECONDS, key: "apparmor" },
  };
}

/** The profile's source when the node does not ship it: from the node's apparmorProfiles, relative to the definition. */
export function profileText(
  profile: string | undefined,
  nodeProfiles: { name: string; file: string }[],
  definitionDir: string,
): string | undefined {
  if (!profile || BUILTIN_APPARMOR_PROFILES.has(profile)) return undefined;
  const declared = nodeProfiles.find((p) => p.name === profile);
  if (!declared) throw new Error(`AppArmor profile '${profile}' is not declared under the node's apparmorProfiles`);
  return requireProjectFile(definitionDir, declared.file, `apparmorProfiles '${profile}' file`);
}

/** node: the connection to the node (these scripts run there, not in the guest). */
export function apparmor(
  name: string,
  node: FeatureTarget["connection"],
  args: AppArmorArgs,
  opts: pulumi.CustomResourceOptions,
  /** The guest's incarnation, time limits and adoption (FeatureTarget). */
  guest: Pick<FeatureTarget, "triggers" | "timeouts" | "adopt"> = {},
): RemoteScript {
  return featureResource(name, { ...guest, connection: node }, renderAppArmor(args), {}, opts);
}
