// deploy-settings-check reads Pulumi.<stack>.deploy.yaml files and decodes each one strictly into Pulumi's own
// apitype.DeploymentSettings (the type `pulumi deployment settings` sends to Pulumi Cloud), so a misspelt or
// unknown key fails here instead of in the Cloud. It checks twice, as the CLI does: YAML with KnownFields, then
// the same value as JSON with DisallowUnknownFields (the CLI's own check of a settings patch).
//
// Usage: deploy-settings-check FILE...   exit 0 when every file is valid, 1 when one is not, 2 on bad usage.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"gopkg.in/yaml.v3"
)

// deployFile is the file's shape: the settings under one top-level `settings:` key, as the Pulumi CLI wrote and read
// it before the file support was removed (pulumi/pulumi#23480).
type deployFile struct {
	Settings *apitype.DeploymentSettings `yaml:"settings"`
}

func check(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f deployFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the file is empty: it needs a top-level settings: key")
		}
		return err
	}
	var extra deployFile
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document: write the settings in one document")
	}
	if f.Settings == nil {
		return errors.New("no settings: key: write the deployment settings under a top-level settings: key")
	}
	if f.Settings.SourceContext == nil || f.Settings.SourceContext.Git == nil {
		return errors.New("settings.sourceContext.git is missing: a deployment from git needs repoUrl and branch")
	}
	if f.Settings.SourceContext.Git.RepoURL == "" || f.Settings.SourceContext.Git.Branch == "" {
		return errors.New("settings.sourceContext.git needs repoUrl and branch")
	}
	js, err := json.Marshal(f.Settings)
	if err != nil {
		return fmt.Errorf("settings do not marshal as JSON: %w", err)
	}
	jdec := json.NewDecoder(bytes.NewReader(js))
	jdec.DisallowUnknownFields()
	var again apitype.DeploymentSettings
	if err := jdec.Decode(&again); err != nil {
		return fmt.Errorf("settings do not decode as Pulumi's JSON: %w", err)
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: deploy-settings-check FILE...")
		os.Exit(2)
	}
	failed := false
	for _, p := range os.Args[1:] {
		if err := check(p); err != nil {
			fmt.Printf("%s: invalid: %v\n", p, err)
			failed = true
		} else {
			fmt.Printf("%s: ok\n", p)
		}
	}
	if failed {
		os.Exit(1)
	}
}
