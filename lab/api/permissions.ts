// Proxmox's root-only checks on container configs (PVE::LXC::check_ct_modify_config_perm): bind and
// device mount points, device passthrough and feature flags other than nesting are for root@pam
// itself — an API token, even root's, gets 403. The lab refuses them the same way so a definition
// that needs them fails here as it would on a real node.
import type { Identity } from "./auth";
import { permissionDenied } from "./errors";
import { type PveConfig, parsePropertyString } from "../pve/pve-config";
import { propertyFormat } from "../pve/schema";
import { FEATURES_FORMAT, MP_FORMAT, ROOTFS_FORMAT } from "../pve/lxc-schema";

function features(value: string | undefined): Record<string, string> {
  if (!value) return {};
  try {
    return parsePropertyString(value, propertyFormat(FEATURES_FORMAT));
  } catch {
    return {};
  }
}

function mountType(key: string, value: string): "volume" | "bind" | "device" {
  let volume: string;
  try {
    volume = parsePropertyString(value, propertyFormat(key === "rootfs" ? ROOTFS_FORMAT : MP_FORMAT)).volume ?? "";
  } catch {
    return "volume";
  }
  if (volume.startsWith("/dev/")) return "device";
  return volume.startsWith("/") ? "bind" : "volume";
}

/**
 * Throws Proxmox's 403 when a non-root identity sets or deletes what only root@pam may.
 * `oldConf` is the current config (undefined on create), `changes` the options being set.
 */
export function checkContainerConfigPermissions(
  identity: Identity,
  oldConf: PveConfig | undefined,
  changes: PveConfig,
  deletes: string[],
  unprivileged: boolean,
): void {
  if (identity.isRoot) return;
  const check = (opt: string, isDelete: boolean) => {
    if (opt === "rootfs" || /^mp\d+$/.test(opt)) {
      if (isDelete) return;
      const type = mountType(opt, changes[opt]!);
      if (type !== "volume") throw permissionDenied(`mount point type ${type} is only allowed for root@pam`);
    } else if (/^dev\d+$/.test(opt)) {
      throw permissionDenied("configuring device passthrough is only allowed for root@pam");
    } else if (opt === "features") {
      if (!unprivileged) throw permissionDenied("changing feature flags for privileged container is only allowed for root@pam");
      // nesting alone needs only VM.Allocate; any other flag changing needs root@pam
      let otherChanged = false;
      const next = isDelete ? {} : features(changes.features);
      const old = features(oldConf?.features);
      if (!isDelete && oldConf?.features) {
        for (const f of new Set([...Object.keys(old), ...Object.keys(next)])) {
          if ((old[f] ?? "") === (next[f] ?? "")) continue;
          if (f !== "nesting") otherChanged = true;
        }
      } else {
        const flags = isDelete ? old : next;
        const keys = Object.keys(flags);
        otherChanged = keys.length > 0 && !(keys.length === 1 && flags.nesting === "1");
      }
      if (otherChanged) throw permissionDenied("changing feature flags (except nesting) is only allowed for root@pam");
    }
  };
  for (const opt of Object.keys(changes)) check(opt, false);
  for (const opt of deletes) check(opt, true);
}
