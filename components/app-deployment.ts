// One app on one guest: its compose file and templates read from the definition's directory and rendered, then either
// one step in the guest (deploy: compose) or the guest's files plus the stack through the Portainer server's API
// (deploy: portainer). Removing the app from the definition deletes these steps: `down`, or the stack's deletion.
import * as pulumi from "@pulumi/pulumi";
import { requireProjectFile } from "../definition/files";
import type { PlannedApp, PlannedAppTarget } from "../plan/plan";
import { appFiles, composeApp, portainerStack } from "../provisioners/app/app";
import { appUrls, renderApp } from "../provisioners/app/render";
import type { FeatureTarget } from "../provisioners/engine/feature";
import type { RemoteScript } from "../provisioners/engine/script-provider";

export interface AppDeploymentArgs {
  app: PlannedApp;
  target: PlannedAppTarget;
  /** Where the app's files (and, for deploy: compose, the compose CLI) run: the guest. */
  guest: FeatureTarget;
  /** deploy: portainer — the Portainer server's guest, where the API calls are made. */
  server?: FeatureTarget;
  definitionDir: string;
  secrets: Record<string, pulumi.Output<string>>;
  /** The guest (provisioned), and for Portainer the server's registration of the guest's agent. */
  dependsOn: pulumi.Resource[];
  /** The guest's container or VM: a new one gets the app anew. */
  replaceWith: pulumi.Resource[];
}

export class AppDeployment extends pulumi.ComponentResource {
  readonly steps: RemoteScript[] = [];
  /** http://<guest address>:<port>/ for each TCP port the app publishes. */
  readonly urls: string[];

  constructor(name: string, args: AppDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("phoenix:index:AppDeployment", name, {}, opts);
    const { app } = args;
    const composeText = requireProjectFile(args.definitionDir, app.compose, `app ${app.name}: compose`);
    const templates = Object.fromEntries(
      app.files.map((f) => [f.template, requireProjectFile(args.definitionDir, f.template, `app ${app.name}: files`)]),
    );
    const rendered = renderApp(app, composeText, templates);
    this.urls = args.target.address ? appUrls(composeText, rendered.plain, args.target.address) : [];
    const step = { parent: this, dependsOn: args.dependsOn, replaceWith: args.replaceWith, deleteBeforeReplace: true };
    const p = args.target.portainer;
    if (app.deploy === "compose" || !p) {
      this.steps.push(composeApp(name, args.guest, rendered, app, args.secrets, step));
    } else {
      if (!args.server) throw new Error(`app ${app.name}: the Portainer server '${p.server}' has no guest to run in`);
      const adminPasswordKey = typeof p.adminPassword === "object" ? p.adminPassword.secret : "";
      const files = appFiles(`${name}-files`, args.guest, rendered, app, args.secrets, step);
      const stack = portainerStack(
        `${name}-stack`,
        args.server,
        rendered,
        app,
        { environment: p.environment, adminPasswordKey },
        args.secrets,
        { ...step, dependsOn: [...args.dependsOn, files] },
      );
      this.steps.push(files, stack);
    }
    this.registerOutputs({ urls: this.urls });
  }
}
