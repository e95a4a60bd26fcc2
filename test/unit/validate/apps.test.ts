// Bad definitions, apps (validate/apps.ts, validate/app-compose.ts): compose files and templates read from a project
// directory of the test's own, each rule with its path and fix, and nothing reported at any other path.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkShape } from "../../../definition/load";
import type { Problem } from "../../../definition/problems";
import { validate } from "../../../validate";
import { type Raw, SECRET_VALUE, base, errorPaths, lxc, warningPaths } from "./support";

const dir = mkdtempSync(join(tmpdir(), "phoenix-apps-validate-"));
const file = (rel: string, text: string) => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
};

const WEB = `services:
  web:
    image: \${REGISTRY:-127.0.0.1:5000}/nginx:1.27
    environment:
      GREETING: \${GREETING}
    ports: ["8080:80"]
    volumes:
      - ./config/index.html:/usr/share/nginx/html/index.html:ro
  worker:
    image: busybox:1.36
    command: ["sh", "-c", "sleep 3600"]
    secrets: [db_password]
secrets:
  db_password:
    file: ./secrets/DB_PASSWORD
`;
file("apps/web/compose.yaml", WEB);
file("apps/web/index.html.tmpl", "<h1>${GREETING}</h1>\n<p>${FOOTER:-phoenix}</p>\n");
file("apps/other/compose.yaml", `services:\n  api:\n    image: busybox:1.36\n    ports: ["127.0.0.1:8080:8080/tcp"]\n`);
file("apps/bad.yaml", "services:\n  web: [unclosed\n");
file("apps/empty.yaml", "version: '3.8'\n");
file("apps/missing-var.yaml", 'services:\n  web:\n    image: busybox:${TAG}\n    command: ["echo", "${WHO:?who}"]\n');
file("apps/build.yaml", "services:\n  web:\n    build: .\n");
file(
  "apps/external.yaml",
  "services:\n  q:\n    image: qdrant/qdrant:v1.12\n    volumes: [qdrant_data_nfs:/qdrant/storage]\nvolumes:\n  qdrant_data_nfs:\n    external: true\n",
);
file(
  "apps/v2.yaml",
  "name: mine\nservices:\n  web:\n    image: busybox:1.36\n    develop: { watch: [] }\nconfigs:\n  c: { file: ./c.conf }\n",
);
file("apps/argv.yaml", 'services:\n  web:\n    image: busybox:1.36\n    command: ["run", "--password=${DB_PASSWORD}"]\n');
file("apps/env-secret.yaml", 'services:\n  web:\n    image: busybox:1.36\n    environment: ["DB_PASSWORD=${DB_PASSWORD}"]\n');
file("apps/escape.yaml", 'services:\n  web:\n    image: busybox:1.36\n    volumes: ["../../etc:/host-etc"]\n');
file("apps/bad-image.yaml", "services:\n  web:\n    image: Web App\n");
file(
  "apps/undeclared-secret.yaml",
  "services:\n  web:\n    image: busybox:1.36\n    secrets: [x]\nsecrets:\n  x: { file: ./secrets/API_TOKEN }\n",
);

/** The app every case starts from: two services, a plain and a secret variable, a config file, on guest 'portainer'. */
const web = (extra: Raw = {}): Raw => ({
  name: "web",
  compose: "apps/web/compose.yaml",
  guests: ["portainer"],
  variables: { GREETING: "hello", DB_PASSWORD: { secret: "webDbPassword" } },
  files: [{ template: "apps/web/index.html.tmpl", path: "config/index.html" }],
  ...extra,
});

/** A Portainer agent guest cloned from the Docker template (the base's 'portainer' guest is the server). */
const agent = (extra: Raw = {}): Raw =>
  lxc(230, "worker", { template: "docker-golden", features: { portainer: { role: "agent" } }, ...extra });

function problemsOf(raw: unknown): Problem[] {
  const shaped = checkShape(raw);
  return shaped.definition ? validate(shaped.definition, { dir }) : shaped.problems;
}

interface Expected {
  path: string;
  message: string | RegExp;
  severity?: "error" | "warning";
  fix?: string | RegExp;
}
interface Case {
  name: string;
  mutate: (d: Raw) => void;
  expect: Expected[];
}

const matches = (want: string | RegExp, got: string) => (typeof want === "string" ? got === want : want.test(got));

const cases: Case[] = [
  {
    name: "compose file missing",
    mutate: (d) => (d.apps = [web({ compose: "apps/nope.yaml" })]),
    expect: [
      { path: "apps[0].compose", message: /^apps\/nope\.yaml does not exist/, fix: "create the file, or correct the path" },
    ],
  },
  {
    name: "compose file outside the project directory",
    mutate: (d) => (d.apps = [web({ compose: "../../etc/passwd" })]),
    expect: [{ path: "apps[0].compose", message: "../../etc/passwd points outside the definition's directory" }],
  },
  {
    name: "compose file is not YAML",
    mutate: (d) => (d.apps = [web({ compose: "apps/bad.yaml" })]),
    expect: [{ path: "apps[0].compose", message: /^apps\/bad\.yaml: not valid YAML at line \d+, column \d+/ }],
  },
  {
    name: "compose file without services",
    mutate: (d) => (d.apps = [web({ compose: "apps/empty.yaml", files: [] })]),
    expect: [{ path: "apps[0].compose", message: "apps/empty.yaml: not a compose file: it has no services" }],
  },
  {
    name: "a ${VAR} the app does not give (and one with ${VAR:?})",
    mutate: (d) => (d.apps = [web({ compose: "apps/missing-var.yaml", files: [], variables: {} })]),
    expect: [
      {
        path: "apps[0].variables",
        message: "apps/missing-var.yaml: services.web.image uses ${TAG}, which apps[0].variables does not give",
      },
      {
        path: "apps[0].variables",
        message: "apps/missing-var.yaml: services.web.command[1] uses ${WHO}, which apps[0].variables does not give",
        fix: "add WHO under apps[0].variables, or give it a default in the compose file: ${WHO:-value}",
      },
    ],
  },
  {
    name: "a service with build: (images are pulled, never built)",
    mutate: (d) => (d.apps = [web({ compose: "apps/build.yaml", files: [] })]),
    expect: [{ path: "apps[0].compose", message: /services\.web has build: Phoenix deploys images the guest pulls/ }],
  },
  {
    name: "an image that is not an image reference",
    mutate: (d) => (d.apps = [web({ compose: "apps/bad-image.yaml", files: [] })]),
    expect: [{ path: "apps[0].compose", message: /services\.web\.image 'Web App': not an image reference/ }],
  },
  {
    name: "target guest without docker",
    mutate: (d) => (d.apps = [web({ guests: ["data"] })]),
    expect: [
      {
        path: "apps[0].guests[0]",
        message: "app 'web' runs on Docker, and guest 'data' has no docker feature (itself or along debian-12-base → data)",
        fix: "add features.docker to guest 'data', or clone it from a template with docker",
      },
    ],
  },
  {
    name: "unknown target guest, and a golden template as target",
    mutate: (d) => (d.apps = [web({ guests: ["nowhere", "docker-golden"] })]),
    expect: [
      { path: "apps[0].guests[0]", message: "unknown guest 'nowhere'" },
      { path: "apps[0].guests[1]", message: "'docker-golden' is a golden template: apps run on guests" },
    ],
  },
  {
    name: "two apps publish the same port on one guest",
    mutate: (d) => (d.apps = [web(), { name: "other", compose: "apps/other/compose.yaml", guests: ["portainer"] }]),
    expect: [
      {
        path: "apps[1].compose",
        message:
          "services.api.ports[0] publishes tcp port 8080 on guest 'portainer', where app 'web' (services.web.ports[0]) publishes it too",
      },
    ],
  },
  {
    name: "an app publishes the Portainer server's port",
    mutate: (d) => {
      file("apps/p9443.yaml", "services:\n  web:\n    image: busybox:1.36\n    ports: ['9440-9450:80']\n");
      d.apps = [{ name: "p", compose: "apps/p9443.yaml", guests: ["portainer"] }];
    },
    expect: [
      {
        path: "apps[0].compose",
        message:
          "services.web.ports[0] publishes tcp port 9440-9450 on guest 'portainer', where the Portainer server listens there",
      },
    ],
  },
  {
    name: "deploy: portainer onto a guest with no agent",
    mutate: (d) =>
      (d.apps = [web({ deploy: "portainer", variables: { GREETING: "hi" }, compose: "apps/other/compose.yaml", files: [] })]),
    expect: [
      {
        path: "apps[0].guests[0]",
        message: "app 'web' is deployed through Portainer, and guest 'portainer' runs no Portainer agent",
      },
    ],
  },
  {
    name: "deploy: portainer through a server without an admin password",
    mutate: (d) => {
      delete d.guests[0].features.portainer.adminPassword;
      d.guests.push(agent());
      d.apps = [{ name: "other", compose: "apps/other/compose.yaml", guests: ["worker"], deploy: "portainer" }];
    },
    expect: [
      {
        path: "apps[0].guests[0]",
        message: "app 'other' is deployed through Portainer server 'portainer', whose API needs its admin password",
      },
      // the agent's registration needs it too (validate/features.ts)
      { path: "guests[0].features.portainer.adminPassword", message: /registers 1 agent\(s\) through its API/ },
    ],
  },
  {
    name: "deploy: portainer with a secret interpolated (Portainer keeps stack variables in its database)",
    mutate: (d) => {
      d.guests.push(agent());
      d.apps = [web({ guests: ["worker"], deploy: "portainer", compose: "apps/env-secret.yaml", files: [] })];
    },
    expect: [
      {
        path: "apps[0].variables.DB_PASSWORD",
        message: /interpolates secret DB_PASSWORD: Portainer keeps a stack's variables in its database/,
      },
    ],
  },
  {
    name: "plaintext secret in an app's variables",
    mutate: (d) => (d.apps = [web({ variables: { GREETING: "hi", DB_PASSWORD: SECRET_VALUE } })]),
    expect: [
      {
        path: "apps[0].variables.DB_PASSWORD",
        message: "'DB_PASSWORD' looks like a secret given in plaintext (the value is not shown here)",
        fix: "run `pulumi config set --secret phoenix:webDbPassword <value>` and write { secret: webDbPassword } here",
      },
      // and the compose file's ./secrets/DB_PASSWORD is no longer provided
      {
        path: "apps[0].compose",
        message: "apps/web/compose.yaml: secrets.db_password.file reads ./secrets/DB_PASSWORD, which the app does not provide",
      },
    ],
  },
  {
    name: "a secret interpolated into a command line",
    mutate: (d) => (d.apps = [web({ compose: "apps/argv.yaml", files: [] })]),
    expect: [
      {
        path: "apps[0].variables.DB_PASSWORD",
        message: /services\.web\.command\[1\] interpolates secret DB_PASSWORD where docker ps and docker inspect show it/,
      },
    ],
  },
  {
    name: "a secret interpolated into the environment (a warning)",
    mutate: (d) => (d.apps = [web({ compose: "apps/env-secret.yaml", files: [] })]),
    expect: [
      {
        path: "apps[0].variables.DB_PASSWORD",
        severity: "warning",
        message: /puts secret DB_PASSWORD into the container's environment/,
      },
    ],
  },
  {
    name: "an external volume neither declared nor said to exist (the original's NFS volumes)",
    mutate: (d) => (d.apps = [{ name: "qdrant", compose: "apps/external.yaml", guests: ["portainer"] }]),
    expect: [
      {
        path: "apps[0].volumes",
        message: /volume qdrant_data_nfs is external, so Compose expects it on the guest/,
        fix: /NFS: \{ type: nfs, o: "addr=<server>,rw,nfsvers=4", device: ":<export path>" \}/,
      },
    ],
  },
  {
    name: "a declared volume the compose file does not use as external (a warning)",
    mutate: (d) => (d.apps = [web({ volumes: { spare: { driver: "local" } } })]),
    expect: [{ path: "apps[0].volumes.spare", severity: "warning", message: /does not use spare as an external volume/ }],
  },
  {
    name: "compose features Debian 12's docker-compose 1.29 lacks",
    mutate: (d) => (d.apps = [{ name: "v2", compose: "apps/v2.yaml", guests: ["portainer"], files: [] }]),
    expect: [
      {
        path: "apps[0].compose",
        message:
          "apps/v2.yaml: name uses the top-level name (Compose v2.3+), which Debian 12's docker-compose 1.29 (docker.source: debian) on 'portainer' lacks",
      },
      { path: "apps[0].compose", message: /configs uses configs outside swarm mode \(1\.29 ignores them\)/ },
      { path: "apps[0].compose", message: /services\.web\.develop uses develop \(Compose v2\)/ },
      // the config file it names is not provided either
      { path: "apps[0].compose", message: /configs\.c\.file reads \.\/c\.conf, which the app does not provide/ },
    ],
  },
  {
    name: "a template file that does not exist",
    mutate: (d) =>
      (d.apps = [
        web({
          files: [
            { template: "apps/web/index.html.tmpl", path: "config/index.html" },
            { template: "apps/t.tmpl", path: "t" },
          ],
        }),
      ]),
    expect: [{ path: "apps[0].files[1].template", message: /^apps\/t\.tmpl does not exist/ }],
  },
  {
    name: "a template ${VAR} with neither value nor default",
    mutate: (d) => {
      file("apps/greet.tmpl", "hello ${NAME}, from ${PLACE:-here}\n");
      d.apps = [web({ files: [{ template: "apps/greet.tmpl", path: "config/index.html" }] })];
    },
    expect: [
      { path: "apps[0].files[0].template", message: "apps/greet.tmpl uses ${NAME}, which apps[0].variables does not give" },
    ],
  },
  {
    name: "the compose file reads a secret file no variable provides",
    mutate: (d) => (d.apps = [web({ compose: "apps/undeclared-secret.yaml", files: [] })]),
    expect: [
      {
        path: "apps[0].compose",
        message: "apps/undeclared-secret.yaml: secrets.x.file reads ./secrets/API_TOKEN, which the app does not provide",
        fix: "add a secret variable API_TOKEN: { secret: <name> } (its value is written to ./secrets/API_TOKEN)",
      },
    ],
  },
  {
    name: "a bind mount outside the project directory",
    mutate: (d) => (d.apps = [web({ compose: "apps/escape.yaml", files: [] })]),
    expect: [
      {
        path: "apps[0].compose",
        message: "apps/escape.yaml: services.web.volumes[0] refers to ../../etc, outside the app's project directory",
      },
    ],
  },
  {
    name: "a variable that would steer the compose CLI",
    mutate: (d) => (d.apps = [web({ variables: { GREETING: "x", DB_PASSWORD: { secret: "p" }, COMPOSE_FILE: "other.yaml" } })]),
    expect: [{ path: "apps[0].variables.COMPOSE_FILE", message: /COMPOSE_FILE would change how the compose CLI runs/ }],
  },
  {
    name: "a file written where Phoenix writes the secrets",
    mutate: (d) =>
      (d.apps = [
        web({
          files: [
            { template: "apps/web/index.html.tmpl", path: "config/index.html" },
            { template: "apps/web/index.html.tmpl", path: "secrets/x" },
          ],
        }),
      ]),
    expect: [
      { path: "apps[0].files[1].path", message: "secrets/x is where Phoenix writes the compose file, .env or the secrets" },
    ],
  },
  {
    name: "two apps with one name",
    mutate: (d) =>
      (d.apps = [
        web(),
        web({ guests: ["portainer"], compose: "apps/external.yaml", files: [], externalVolumes: ["qdrant_data_nfs"] }),
      ]),
    expect: [
      { path: "apps[1].name", message: "app name 'web' is also used by apps[0]" },
      // the second publishes nothing; its services differ
    ],
  },
  {
    name: "Traefik labels and firewall rules kept from the original (a warning)",
    mutate: (d) =>
      (d.apps = [
        web({ traefikLabels: { web: ["traefik.enable=true"] }, firewallRules: [{ type: "in", action: "ACCEPT", port: "8080" }] }),
      ]),
    expect: [
      {
        path: "apps[0].traefikLabels",
        severity: "warning",
        message: /kept from the original system by an older phoenix import; never applied/,
      },
    ],
  },
  {
    name: "an app name Compose would not take as a project name",
    mutate: (d) => (d.apps = [web({ name: "My App" })]),
    expect: [{ path: "apps[0].name", message: /lowercase letters, digits/ }],
  },
];

describe("bad definitions: apps", () => {
  it("the base app (two services, a plain and a secret variable, a template) is valid, defaults included", () => {
    const d = base();
    d.apps = [web()];
    const problems = problemsOf(d);
    expect(problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(problems.filter((p) => p.path.startsWith("apps"))).toEqual([]);
  });

  it("has at least 20 cases, each with a distinct name", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)("$name", ({ mutate, expect: expected }) => {
    const raw = base();
    mutate(raw);
    const problems = problemsOf(raw);
    for (const e of expected) {
      const hit = problems.find(
        (p) =>
          p.path === e.path &&
          p.severity === (e.severity ?? "error") &&
          matches(e.message, p.message) &&
          (e.fix === undefined || matches(e.fix, p.fix ?? "")),
      );
      expect(hit, `${e.path}: ${String(e.message)} in ${JSON.stringify(problems, null, 1)}`).toBeTruthy();
    }
    expect(errorPaths(problems)).toEqual(
      [...new Set(expected.filter((e) => (e.severity ?? "error") === "error").map((e) => e.path))].sort(),
    );
    expect(warningPaths(problems)).toEqual(
      [...new Set(expected.filter((e) => e.severity === "warning").map((e) => e.path))].sort(),
    );
    for (const p of problems) expect(p.fix, `${p.path}: ${p.message}`).toBeTruthy();
  });
});
