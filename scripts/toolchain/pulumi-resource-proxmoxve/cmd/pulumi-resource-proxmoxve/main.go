// The pulumi-resource-proxmoxve plugin. schema.json and bridge-metadata.json are generated into
// this directory by the build (see provider/provider.go); they are not kept in the repository.
package main

import (
	"context"
	_ "embed"

	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"phoenix.local/pulumi-resource-proxmoxve/provider"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	pfbridge.MainWithMuxer(context.Background(), "proxmoxve", provider.Info(metadata), schema)
}
