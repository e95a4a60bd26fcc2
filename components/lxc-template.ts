// A base template: a file already on a storage, or downloaded onto it (URL + checksum).
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedBaseTemplate } from "../plan/plan";
import { downloadArgs, templateFileId } from "./args/host";

export interface LxcTemplateArgs {
  template: PlannedBaseTemplate;
  provider: proxmox.Provider;
}

export class LxcTemplate extends pulumi.ComponentResource {
  /** Volume id to create containers from, e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst. */
  readonly fileId: pulumi.Output<string>;

  constructor(name: string, args: LxcTemplateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:LxcTemplate", name, {}, opts);
    const download = downloadArgs(args.template);
    this.fileId = download
      ? new proxmox.download.FileLegacy(name, download, { parent: this, provider: args.provider }).id
      : pulumi.output(templateFileId(args.template));
    this.registerOutputs({ fileId: this.fileId });
  }
}
