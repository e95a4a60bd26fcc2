// Schema generator for the proxmoxve plugin: `pulumi-tfgen-proxmoxve schema --skip-docs
// --skip-examples --out DIR` writes schema.json and bridge-metadata.json, which the plugin embeds.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"phoenix.local/pulumi-resource-proxmoxve/provider"
)

func main() {
	pftfgen.MainWithMuxer("proxmoxve", provider.Info([]byte("{}")))
}
