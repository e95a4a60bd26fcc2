// Apps rendered for their guests (provisioners/app/render.ts, definition/interpolation.ts): paths made absolute, plain
// variables in .env, secrets only by name, which services each written file reaches, what refresh expects; and the
// interpolation rules as properties.
import fc from "fast-check";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { composeRefs, interpolateCompose, renderTemplate, templateRefs } from "../../definition/interpolation";
import { appParams, composeParams, stackParams } from "../../provisioners/app/app";
import { type AppSource, appUrls, envLine, normalizeImage, renderApp, renderSecretFile } from "../../provisioners/app/render";

const COMPOSE = `# a comment that stays
services:
  web:
    image: \${REGISTRY:-docker.io}/library/nginx:\${TAG}
    environment:
      - GREETING=\${GREETING}
    ports: ["\${PORT:-8080}:80", "127.0.0.1:9000-9001:9000-9001"]
    volumes:
      - ./config/site.conf:/etc/nginx/conf.d/site.conf:ro
      - { type: bind, source: ./html, target: /usr/share/nginx/html }
      - data:/var/lib/data
    env_file: ./web.env
  worker:
    image: busybox
    command: ["sh", "-c", "echo $$HOME"]
    secrets: [db]
    depends_on:
      migrate: { condition: service_completed_successfully }
  migrate:
    image: busybox:1.36
  debug:
    image: busybox:1.36
    profiles: [debug]
secrets:
  db:
    file: ./secrets/DB_PASSWORD
volumes:
  data: {}
`;

const app: AppSource = {
  name: "shop",
  deploy: "compose",
  compose: "apps/shop/compose.yaml",
  variables: { GREETING: "it's me", TAG: "1.27", DB_PASSWORD: { secret: "shopDb" } },
  files: [
    { template: "t/site.conf", path: "config/site.conf" },
    { template: "t/index.html", path: "html/index.html" },
    { template: "t/web.env", path: "web.env" },
  ],
  volumes: { nfs: { driver: "local", options: { type: "nfs", o: "addr=10.0.0.13,rw" } } },
  externalVolumes: ["old"],
  removeVolumes: false,
};
const templates = {
  "t/site.conf": "server_name ${HOST:-example};\nlocation / { proxy_set_header Host $host; }\n",
  "t/index.html": "<h1>${GREETING}</h1>$${literal}\n",
  "t/web.env": "DB_PASSWORD=${DB_PASSWORD}\n",
};

describe("renderApp", () => {
  const r = renderApp(app, COMPOSE, templates);

  it("makes project-relative paths absolute (bind mounts, env_file, secret files) and keeps the file's comments", () => {
    expect(r.compose).toContain("# a comment that stays");
    const doc = parse(r.compose);
    expect(doc.services.web.volumes[0]).toBe("/opt/phoenix/apps/shop/config/site.conf:/etc/nginx/conf.d/site.conf:ro");
    expect(doc.services.web.volumes[1].source).toBe("/opt/phoenix/apps/shop/html");
    expect(doc.services.web.volumes[2]).toBe("data:/var/lib/data");
    expect(doc.services.web.env_file).toBe("/opt/phoenix/apps/shop/web.env");
    expect(doc.secrets.db.file).toBe("/opt/phoenix/apps/shop/secrets/DB_PASSWORD");
    // interpolation is Compose's, in the guest: untouched here
    expect(doc.services.web.image).toBe("${REGISTRY:-docker.io}/library/nginx:${TAG}");
  });

  it("puts plain variables, single-quoted, in .env and secrets nowhere but by name", () => {
    expect(r.env).toBe("GREETING='it\\'s me'\nTAG='1.27'");
    expect(r.secretVariables).toEqual({ DB_PASSWORD: "shopDb" });
    expect(r.interpolatedSecrets).toEqual([]);
    const params = JSON.stringify(composeParams(r, app));
    expect(params).not.toContain("${DB_PASSWORD}=");
  });

  it("renders plain templates now (${VAR}, ${VAR:-default}, $${ literal, $host untouched); a secret one only with the values", () => {
    const byPath = Object.fromEntries(r.files.map((f) => [f.path, f]));
    expect(byPath["config/site.conf"]).toMatchObject({
      mode: "0644",
      content: "server_name example;\nlocation / { proxy_set_header Host $host; }\n",
    });
    expect(byPath["html/index.html"]!.content).toBe("<h1>it's me</h1>${literal}\n");
    expect(byPath["web.env"]).toMatchObject({ mode: "0600", secrets: ["DB_PASSWORD"] });
    expect(byPath["web.env"]!.content).toBeUndefined();
    expect(renderSecretFile(byPath["web.env"]!, r.plain, { DB_PASSWORD: "s3cret" })).toBe("DB_PASSWORD=s3cret\n");
    expect(byPath["secrets/DB_PASSWORD"]).toMatchObject({ mode: "0600", secrets: ["DB_PASSWORD"], services: ["worker"] });
    expect(renderSecretFile(byPath["secrets/DB_PASSWORD"]!, r.plain, { DB_PASSWORD: "s3cret" })).toBe("s3cret");
  });

  it("knows which services each written file reaches (restarted when it changes)", () => {
    const users = Object.fromEntries(r.files.map((f) => [f.path, f.services]));
    expect(users).toEqual({
      "config/site.conf": ["web"],
      "html/index.html": ["web"],
      "web.env": ["web"],
      "secrets/DB_PASSWORD": ["worker"],
    });
  });

  it("expects every service up starts (not profiles), one-shot jobs exited, images as Docker normalises them", () => {
    expect(r.services.split("\n")).toEqual(["migrate job busybox:1.36", "web run nginx:1.27", "worker run busybox:latest"]);
  });

  it("params: files by index, volumes one option a line, nothing secret; Portainer's env from the plain variables", () => {
    const p = appParams(r, app);
    expect(p.APP_FILES!.split("\n")[3]).toBe("3\t0600\tsecret\tworker\tsecrets/DB_PASSWORD");
    expect(p.APP_FILE_2).toBeUndefined();
    expect(p.APP_VOLUMES).toBe("nfs\tlocal\to=addr=10.0.0.13,rw\nnfs\tlocal\ttype=nfs");
    expect(JSON.parse(stackParams(r, app, { environment: "worker" }).APP_ENV_JSON!)).toEqual([
      { name: "GREETING", value: "it's me" },
      { name: "TAG", value: "1.27" },
    ]);
  });

  it("URLs: the TCP ports published on every address or on the guest's", () => {
    expect(appUrls(COMPOSE, r.plain, "10.0.0.5")).toEqual(["http://10.0.0.5:8080/"]);
    expect(appUrls(COMPOSE, r.plain, "127.0.0.1")).toEqual([
      "http://127.0.0.1:8080/",
      "http://127.0.0.1:9000/",
      "http://127.0.0.1:9001/",
    ]);
  });

  it("envLine and normalizeImage", () => {
    expect(envLine("A", "x'y")).toBe("A='x\\'y'");
    expect(normalizeImage("docker.io/library/busybox")).toBe("busybox:latest");
    expect(normalizeImage("127.0.0.1:5000/team/app")).toBe("127.0.0.1:5000/team/app:latest");
    expect(normalizeImage("app@sha256:abc")).toBe("app@sha256:abc");
  });
});

describe("interpolation, as properties", () => {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
  const plain = fc.string().filter((s) => !s.includes("$"));

  it("text without $ is left as it is, by Compose's interpolation and by templates", () => {
    fc.assert(
      fc.property(plain, (s) => {
        expect(interpolateCompose(s, () => "x")).toBe(s);
        expect(renderTemplate(s, {}).text).toBe(s);
        expect(composeRefs(s).refs).toEqual([]);
      }),
    );
  });

  it("$$ is a literal $, ${NAME} its value, ${NAME:-d} the default when unset or empty", () => {
    fc.assert(
      fc.property(name, plain, plain, (n, v, d) => {
        const d2 = d.replace(/[{}]/g, "");
        expect(interpolateCompose(`$$${n}`, () => v)).toBe(`$${n}`);
        expect(interpolateCompose(`\${${n}}`, (k) => (k === n ? v : undefined))).toBe(v);
        expect(interpolateCompose(`\${${n}:-${d2}}`, () => undefined)).toBe(d2);
        expect(interpolateCompose(`\${${n}:-${d2}}`, () => "")).toBe(d2);
        expect(interpolateCompose(`\${${n}-${d2}}`, () => "")).toBe("");
      }),
    );
  });

  it("a template renders every reference it names, and leaves only missing ones", () => {
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 5 }), fc.dictionary(name, plain), (names, vars) => {
        const text = names.map((n) => `[\${${n}}]`).join("");
        const r = renderTemplate(text, vars);
        expect(templateRefs(text).map((x) => x.name)).toEqual(names);
        expect(r.missing.sort()).toEqual([...new Set(names.filter((n) => !(n in vars)))].sort());
        for (const n of names) if (n in vars) expect(r.text).toContain(`[${vars[n]}]`);
      }),
    );
  });
});
