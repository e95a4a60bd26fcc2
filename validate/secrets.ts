// Secrets are referenced by name ({ secret: name }) and resolved from Pulumi secret config; never inline.
import { type Problem, error } from "../definition/problems";
import type { Definition } from "../definition/schema";
import { appSecretName, looksSecret, secretFix } from "../definition/secrets";

export function checkSecrets(def: Definition): Problem[] {
  const out: Problem[] = [];
  const plain = (path: string, value: unknown, suggested: string) => {
    if (typeof value === "string")
      out.push(error(path, "plaintext secret in the definition (the value is not shown here)", secretFix(suggested)));
  };
  const freeForm = (path: string, map: Record<string, unknown> | undefined) => {
    for (const [k, v] of Object.entries(map ?? {}))
      if (looksSecret(k) && typeof v === "string" && v !== "")
        out.push(
          error(
            `${path}.${k}`,
            `'${k}' looks like a secret given in plaintext (the value is not shown here)`,
            "pass it through a feature field that takes { secret: name }, or a root-only file written by a script",
          ),
        );
  };
  def.nodes.forEach((n, i) => {
    plain(`nodes[${i}].api.token`, n.api?.token, `${n.name}ApiToken`);
    plain(`nodes[${i}].api.password`, n.api?.password, `${n.name}Password`);
    plain(`nodes[${i}].ssh.privateKey`, n.ssh?.privateKey, `${n.name}SshKey`);
  });
  const machines = [
    ...def.templates.map((t, i) => ({ t, path: `templates[${i}]` })),
    ...def.guests.map((t, i) => ({ t, path: `guests[${i}]` })),
  ];
  for (const { t, path } of machines) {
    if (!("features" in t)) continue;
    const f = t.features;
    plain(`${path}.features.vllm.hfToken`, f.vllm?.hfToken, "hfToken");
    plain(`${path}.features.portainer.adminPassword`, f.portainer?.adminPassword, "portainerAdminPassword");
    plain(`${path}.cloudInit.password`, t.cloudInit?.password, `${t.name}Password`);
    if (f.vllm) freeForm(`${path}.features.vllm.args`, f.vllm.args);
    if (f.script) freeForm(`${path}.features.script.env`, f.script.env);
    if (typeof f.docker === "object") freeForm(`${path}.features.docker.daemon`, f.docker.daemon);
  }
  def.apps.forEach((app, i) => {
    for (const [k, v] of Object.entries(app.variables))
      if (looksSecret(k) && typeof v === "string" && v !== "")
        out.push(
          error(
            `apps[${i}].variables.${k}`,
            `'${k}' looks like a secret given in plaintext (the value is not shown here)`,
            secretFix(appSecretName(app.name, k)),
          ),
        );
  });
  return out;
}
