// Package provider bridges the bpg/proxmox Terraform provider to Pulumi under the package name
// "proxmoxve", naming every resource and function exactly as the @muhlba91/pulumi-proxmoxve SDK
// does (proxmoxve:<module>:<Name>, legacy `proxmox_virtual_environment_*` resources with a
// "Legacy" suffix).
//
// Why it exists: the upstream provider module (github.com/muhlba91/pulumi-proxmoxve/provider)
// has no Go-module tags, so the module proxy reachable here does not serve it; the Terraform
// provider and the bridge it wraps are served. scripts/bootstrap-toolchain.sh builds this
// package twice: a schema generator (tfgen) and the provider plugin that embeds its output.
package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/bpg/terraform-provider-proxmox/fwprovider"
	sdkprovider "github.com/bpg/terraform-provider-proxmox/proxmoxtf/provider"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Version is the plugin version, set at link time (-X).
var Version = "0.0.0-dev"

const pkgName = "proxmoxve"

// tokenParts maps a Terraform type name onto the SDK's module and member name:
//
//	proxmox_storage_nfs                     -> storage, Nfs
//	proxmox_virtual_environment_storage_nfs -> storage, NfsLegacy
//	proxmox_vm                              -> index,   Vm
//	proxmox_virtual_environment_sdn_zone_qinq -> sdn/zone, QinqLegacy
func tokenParts(tfName string) (module, name string, err error) {
	rest, legacy := strings.CutPrefix(tfName, "proxmox_virtual_environment_")
	if !legacy {
		var ok bool
		if rest, ok = strings.CutPrefix(tfName, "proxmox_"); !ok {
			return "", "", fmt.Errorf("unexpected Terraform type name %q", tfName)
		}
	}
	words := strings.Split(rest, "_")
	last := words[len(words)-1]
	if last == "" || (last[0] >= '0' && last[0] <= '9') {
		return "", "", fmt.Errorf("cannot name %q", tfName)
	}
	module = "index"
	if len(words) > 1 {
		module = strings.Join(words[:len(words)-1], "/")
	}
	name = strings.ToUpper(last[:1]) + last[1:]
	if legacy {
		name += "Legacy"
	}
	return module, name, nil
}

// Info returns the bridge configuration; metadata is the bridge-metadata.json produced by tfgen
// ("{}" while generating it).
func Info(metadata []byte) tfbridge.ProviderInfo {
	ctx := context.Background()
	sdk := sdkprovider.ProxmoxVirtualEnvironment()
	dropDiskSpeedDefault(sdk)
	p := pfbridge.MuxShimWithPF(ctx, shimv2.NewProvider(sdk), fwprovider.New(Version)())

	info := tfbridge.ProviderInfo{
		P:                 p,
		Name:              "proxmox",
		DisplayName:       "Proxmox Virtual Environment (Proxmox VE)",
		Description:       "A Pulumi package for creating and managing Proxmox Virtual Environment cloud resources.",
		Keywords:          []string{"proxmox", "proxmoxve", "category/infrastructure"},
		License:           "Apache-2.0",
		GitHubOrg:         "bpg",
		PluginDownloadURL: "github://api.github.com/muhlba91/pulumi-proxmoxve",
		Version:           Version,
		Config:            map[string]*tfbridge.SchemaInfo{},
		Resources:         idOverrides(p),
		DataSources:       map[string]*tfbridge.DataSourceInfo{},
		JavaScript: &tfbridge.JavaScriptInfo{
			PackageName:  "@muhlba91/pulumi-proxmoxve",
			Dependencies: map[string]string{"@pulumi/pulumi": "^3.0.0"},
		},
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
	}

	info.MustComputeTokens(tfbridge.Strategy{
		Resource: func(tfName string, r *tfbridge.ResourceInfo) error {
			if r.Tok != "" {
				return nil
			}
			mod, name, err := tokenParts(tfName)
			r.Tok = tfbridge.MakeResource(pkgName, mod, name)
			return err
		},
		DataSource: func(tfName string, d *tfbridge.DataSourceInfo) error {
			if d.Tok != "" {
				return nil
			}
			mod, name, err := tokenParts(tfName)
			d.Tok = tfbridge.MakeDataSource(pkgName, mod, "get"+name)
			return err
		},
	})
	info.SetAutonaming(255, "-")
	return info
}

// dropDiskSpeedDefault removes the default of the VM resource's disk.speed block. The default fills the block
// with zero limits when a program does not set it, but a read returns no block when Proxmox has no limits, so
// every `pulumi up` after the first showed a disk diff (seen against the lab). Zero limits meant "no limit",
// so an unset block means the same.
func dropDiskSpeedDefault(p *schema.Provider) {
	r, ok := p.ResourcesMap["proxmox_virtual_environment_vm"]
	if !ok {
		return
	}
	disk, ok := r.Schema["disk"]
	if !ok {
		return
	}
	if el, ok := disk.Elem.(*schema.Resource); ok {
		if speed, ok := el.Schema["speed"]; ok {
			speed.DefaultFunc = nil
			speed.Default = nil
		}
	}
}

// bridgeDefaultID lists resources with an input "id" that the SDK leaves to the bridge's default
// naming (<resource>Id, e.g. sdnControllerEvpnId) instead of "resourceId".
var bridgeDefaultID = map[string]bool{"proxmox_sdn_controller_evpn": true}

// idOverrides handles resources whose Terraform "id" attribute is a user input or not a string:
// Pulumi reserves "id", so the SDK exposes it as "resourceId" and the resource ID is computed
// from its value.
func idOverrides(p shim.Provider) map[string]*tfbridge.ResourceInfo {
	out := map[string]*tfbridge.ResourceInfo{}
	p.ResourcesMap().Range(func(tfName string, r shim.Resource) bool {
		id, ok := r.Schema().GetOk("id")
		if !ok || bridgeDefaultID[tfName] ||
			(id.Type() == shim.TypeString && id.Computed() && !id.Optional() && !id.Required()) {
			return true
		}
		out[tfName] = &tfbridge.ResourceInfo{
			Fields:    map[string]*tfbridge.SchemaInfo{"id": {Name: "resourceId", Type: "string"}},
			ComputeID: computeID,
		}
		return true
	})
	return out
}

func computeID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	for _, key := range []resource.PropertyKey{"id", "resourceId"} {
		v, ok := state[key]
		if !ok || v.IsNull() {
			continue
		}
		switch {
		case v.IsString():
			return resource.ID(v.StringValue()), nil
		case v.IsNumber():
			return resource.ID(fmt.Sprintf("%d", int64(v.NumberValue()))), nil
		default:
			return resource.ID(fmt.Sprintf("%v", v.V)), nil
		}
	}
	return "", fmt.Errorf("resource state has no id")
}
