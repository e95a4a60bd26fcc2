// Plan → provider, PCI mapping and template-file arguments. Pure.
import type * as proxmox from "@muhlba91/pulumi-proxmoxve";
import type * as pulumi from "@pulumi/pulumi";
import type { PciMapping } from "../../plan/gpu";
import type { PlannedBaseTemplate, PlannedNode } from "../../plan/plan";

/**
 * With a pinned fingerprint the provider skips its own chain check (it can only check against the system's CAs, and
 * a node's certificate is self-signed): `endpoint` is then the endpoint released by the pin check
 * (provisioners/engine/api-certificate.ts), so the provider gets nothing to connect to until the certificate matched.
 */
export function providerArgs(
  node: PlannedNode,
  secrets: { apiToken?: pulumi.Input<string>; password?: pulumi.Input<string>; sshKey?: pulumi.Input<string> },
  endpoint?: pulumi.Input<string>,
): proxmox.ProviderArgs {
  if (!node.api) throw new Error(`node '${node.name}' has no api endpoint; set nodes[].api in the definition`);
  if (node.api.fingerprint !== undefined && endpoint === undefined)
    throw new Error(`node '${node.name}' pins its API certificate: give the endpoint its pin check released`);
  return {
    endpoint: endpoint ?? node.api.endpoint,
    insecure: node.api.insecure || node.api.fingerprint !== undefined,
    ...(secrets.apiToken ? { apiToken: secrets.apiToken } : {}),
    ...(node.api.username && secrets.password ? { username: node.api.username, password: secrets.password } : {}),
    ...(node.ssh
      ? {
          ssh: {
            username: node.ssh.user,
            ...(secrets.sshKey ? { privateKey: secrets.sshKey } : {}),
            nodes: [{ name: node.name, address: node.ssh.host, port: node.ssh.port }],
          },
        }
      : {}),
  };
}

export function pciMappingArgs(m: PciMapping): proxmox.hardware.mapping.PciLegacyArgs {
  if (!m.deviceId) throw new Error(`GPU ${m.index} of node '${m.node}' needs deviceId for a PCI mapping`);
  return {
    name: m.id,
    comment: `GPU ${m.index} of ${m.node} (managed by Phoenix)`,
    maps: [{ node: m.node, path: m.pci, id: m.deviceId, ...(m.iommuGroup !== undefined ? { iommuGroup: m.iommuGroup } : {}) }],
  };
}

/** Volume id of a base template that is a file on a storage, e.g. local:vztmpl/debian-12.tar.zst. */
export function templateFileId(t: PlannedBaseTemplate): string {
  const s = t.source;
  if ("url" in s) {
    const file = s.file ?? s.url.split("/").pop()!;
    return `${s.storage}:${t.type === "lxc" ? "vztmpl" : "iso"}/${file.replace(/^(vztmpl|iso|import)\//, "")}`;
  }
  return `${s.storage}:${s.file}`;
}

export function downloadArgs(t: PlannedBaseTemplate): proxmox.download.FileLegacyArgs | undefined {
  const s = t.source;
  if (!("url" in s)) return undefined;
  const [algorithm, checksum] = s.checksum.split(":");
  return {
    nodeName: t.node,
    datastoreId: s.storage,
    contentType: t.type === "lxc" ? "vztmpl" : "iso",
    url: s.url,
    checksum: checksum!,
    checksumAlgorithm: algorithm!,
    ...(s.file ? { fileName: s.file.replace(/^(vztmpl|iso|import)\//, "") } : {}),
  };
}
