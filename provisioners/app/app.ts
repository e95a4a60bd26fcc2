// An app on a guest: with deploy: compose one step in the guest (project directory, volumes, `up -d --remove-orphans`,
// `down` when removed); with deploy: portainer a step in the guest for its files and volumes and one in the Portainer
// server's guest that creates, updates, checks and deletes the stack through Portainer's API.
import * as pulumi from "@pulumi/pulumi";
import { RemoteScript } from "../engine/script-provider";
import { type FeatureTarget, scriptOf } from "../engine/feature";
import { type AppSource, type RenderedApp, renderSecretFile } from "./render";

/** Params every app step shares: the project directory, its files, volumes and the services refresh expects. */
export function appParams(r: RenderedApp, src: AppSource): Record<string, string> {
  const params: Record<string, string> = {
    APP_NAME: r.name,
    APP_DIR: r.dir,
    APP_FILES: r.files
      .map((f, i) => [i, f.mode, f.content !== undefined ? "plain" : "secret", f.services.join(","), f.path].join("\t"))
      .join("\n"),
    APP_VOLUMES: Object.entries(src.volumes)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flatMap(([name, v]) => {
        const opts = Object.entries(v.options).sort(([a], [b]) => (a < b ? -1 : 1));
        return opts.length === 0 ? [`${name}\t${v.driver}\t`] : opts.map(([k, val]) => `${name}\t${v.driver}\t${k}=${val}`);
      })
      .join("\n"),
    APP_EXTERNAL_VOLUMES: [...src.externalVolumes].sort().join("\n"),
    APP_SERVICES: r.services,
    APP_REMOVE_VOLUMES: src.removeVolumes ? "1" : "0",
  };
  r.files.forEach((f, i) => {
    if (f.content !== undefined) params[`APP_FILE_${i}`] = f.content;
  });
  return params;
}

/** The secret shell variables a step gets: secret files rendered with the values, and (compose) interpolated secrets. */
export function appSecretInputs(
  r: RenderedApp,
  secrets: Record<string, pulumi.Input<string>>,
  opts: { interpolated: boolean },
): pulumi.Output<Record<string, string>> | undefined {
  const keys = Object.entries(r.secretVariables);
  if (keys.length === 0) return undefined;
  const missing = keys.filter(([, key]) => secrets[key] === undefined).map(([, key]) => key);
  if (missing.length > 0)
    throw new Error(`app ${r.name}: secret ${missing.join(", ")} is not set: pulumi config set --secret phoenix:${missing[0]} …`);
  return pulumi.all(Object.fromEntries(keys.map(([v, key]) => [v, secrets[key]!]))).apply((values) => {
    const out: Record<string, string> = {};
    r.files.forEach((f, i) => {
      if (f.content === undefined) out[`APP_SECRET_FILE_${i}`] = renderSecretFile(f, r.plain, values);
    });
    if (opts.interpolated) for (const v of r.interpolatedSecrets) out[`APP_VAR_${v}`] = values[v]!;
    return out;
  });
}

function step(
  name: string,
  target: FeatureTarget,
  scripts: { script: string; checkScript: string; deleteScript: string },
  params: Record<string, string>,
  secrets: pulumi.Output<Record<string, string>> | undefined,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return new RemoteScript(
    name,
    {
      connection: target.connection,
      ...(target.inContainer !== undefined ? { inContainer: target.inContainer } : {}),
      ...(target.triggers ? { triggers: target.triggers } : {}),
      ...scripts,
      params,
      ...(secrets ? { secrets } : {}),
    },
    opts,
  );
}

export const COMPOSE_SCRIPTS = {
  script: scriptOf("engine/compose-lib.sh", "app/app-lib.sh", "app/app.sh"),
  checkScript: scriptOf("app/app-lib.sh", "app/app-check.sh"),
  deleteScript: scriptOf("engine/compose-lib.sh", "app/app-lib.sh", "app/app-delete.sh"),
};

export function composeParams(r: RenderedApp, src: AppSource): Record<string, string> {
  return { ...appParams(r, src), APP_COMPOSE: r.compose, APP_ENV: r.env, APP_INTERPOLATED: r.interpolatedSecrets.join(" ") };
}

/** deploy: compose — the whole app in its guest. */
export function composeApp(
  name: string,
  target: FeatureTarget,
  r: RenderedApp,
  src: AppSource,
  secrets: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return step(name, target, COMPOSE_SCRIPTS, composeParams(r, src), appSecretInputs(r, secrets, { interpolated: true }), opts);
}

export const FILES_SCRIPTS = {
  script: scriptOf("app/app-lib.sh", "app/app-files.sh"),
  checkScript: scriptOf("app/app-lib.sh", "app/app-files-check.sh"),
  deleteScript: scriptOf("app/app-lib.sh", "app/app-files-delete.sh"),
};

/** deploy: portainer — the guest's side: files, secret files and volumes, which the stack refers to by absolute path. */
export function appFiles(
  name: string,
  target: FeatureTarget,
  r: RenderedApp,
  src: AppSource,
  secrets: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  return step(name, target, FILES_SCRIPTS, appParams(r, src), appSecretInputs(r, secrets, { interpolated: false }), opts);
}

export const STACK_SCRIPTS = {
  script: scriptOf("app/portainer-api.sh", "app/app-lib.sh", "app/portainer-stack.sh"),
  checkScript: scriptOf("app/portainer-api.sh", "app/app-lib.sh", "app/portainer-stack-check.sh"),
  deleteScript: scriptOf("app/portainer-api.sh", "app/app-lib.sh", "app/portainer-stack-delete.sh"),
};

export interface StackTarget {
  /** The environment the server registered the guest's agent as (the guest's name). */
  environment: string;
  /** The Pulumi secret config key of the server's admin password. */
  adminPasswordKey: string;
}

export function stackParams(r: RenderedApp, src: AppSource, s: Pick<StackTarget, "environment">): Record<string, string> {
  return {
    APP_NAME: r.name,
    APP_COMPOSE: r.compose,
    APP_ENV_JSON: JSON.stringify(Object.entries(r.plain).map(([name, value]) => ({ name, value }))),
    APP_SERVICES: r.services,
    APP_REMOVE_VOLUMES: src.removeVolumes ? "1" : "0",
    PORTAINER_ENVIRONMENT: s.environment,
    PORTAINER_NAME: "portainer",
  };
}

/** deploy: portainer — the stack, through the API of the server whose guest this step runs in. */
export function portainerStack(
  name: string,
  serverTarget: FeatureTarget,
  r: RenderedApp,
  src: AppSource,
  s: StackTarget,
  secrets: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
): RemoteScript {
  const password = secrets[s.adminPasswordKey];
  if (password === undefined)
    throw new Error(
      `app ${r.name}: secret ${s.adminPasswordKey} is not set: pulumi config set --secret phoenix:${s.adminPasswordKey} …`,
    );
  return step(
    name,
    serverTarget,
    STACK_SCRIPTS,
    stackParams(r, src, s),
    pulumi.all({ PORTAINER_ADMIN_PASSWORD: password }) as pulumi.Output<Record<string, string>>,
    opts,
  );
}
