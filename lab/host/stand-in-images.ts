// Stand-ins for Docker Hub images the lab's guests need but cannot pull here (no internet). Each is one
// layer: Debian's static busybox and a script that serves, on that image's ports and in plain HTTP (9443
// included), either a page saying which image it stands in for (`busybox httpd`) or, for Portainer's server,
// a test double of the part of its API the portainer feature calls (stand-in-portainer-api.sh). Built in
// TypeScript and pushed to the lab's registry under Docker Hub's repository name, so a guest's `docker pull`
// of the real name is answered by its mirror.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pushImage, sha256 } from "./registry-push";
import { tar } from "./tar";

export interface StandIn {
  repository: string;
  tag: string;
  ports: number[];
  /**
   * page: busybox httpd serving the stand-in page; portainer-api: the Portainer API double; vllm: `vllm serve`'s double;
   * static: a web server for files mounted into /usr/share/nginx/html (nginx's document root), for apps;
   * shell: busybox itself, no entrypoint (`sh` by default), for apps' own commands;
   * agent: the Portainer agent's stand-in (a Go program forwarding the Docker API of the socket it is given).
   */
  serves: "page" | "portainer-api" | "vllm" | "static" | "shell" | "agent";
  /** Go programs built by scripts/build-go-tool.sh, each in a layer of its own at this path. */
  binaries?: { tool: string; path: string }[];
}

export const STAND_INS: StandIn[] = [
  // As Portainer bundles Docker Compose v2 to deploy stacks, so does its double (built from Docker's own sources).
  {
    repository: "portainer/portainer-ce",
    tag: "lts",
    ports: [9000, 9443],
    serves: "portainer-api",
    binaries: [{ tool: "docker-compose", path: "bin/docker-compose" }],
  },
  {
    repository: "portainer/agent",
    tag: "lts",
    ports: [9001],
    serves: "agent",
    binaries: [{ tool: "stand-in-portainer-agent", path: "stand-in/portainer-agent" }],
  },
  { repository: "vllm/vllm-openai", tag: "latest", ports: [8000], serves: "vllm" },
  // For apps (stacks/dev.yaml's demo app, test/e2e/apps): Docker Hub's official images live under library/.
  { repository: "library/nginx", tag: "1.27-alpine", ports: [80], serves: "static" },
  { repository: "library/busybox", tag: "1.36", ports: [], serves: "shell" },
  // Open WebUI (test/e2e/ai-serving): its image lives on ghcr.io, not Docker Hub, so apps pull this page stand-in
  // from the lab registry by its address; the test reads the settings the container was given, not its UI.
  { repository: "open-webui/open-webui", tag: "0.6.5", ports: [8080], serves: "page" },
];

/** busybox applets the serve scripts call by name (the image has no other binaries). */
const APPLETS = [
  "sh",
  "awk",
  "cat",
  "cut",
  "grep",
  "head",
  "mkdir",
  "mkfifo",
  "mv",
  "nc",
  "rm",
  "sed",
  "sha256sum",
  "sleep",
  "tail",
  "timeout",
  "tr",
];
/** What an app's own command may call in the busybox stand-in, beyond APPLETS. */
const SHELL_APPLETS = ["echo", "env", "false", "hostname", "id", "ls", "printf", "tee", "test", "touch", "true", "wc", "wget"];

/** From Debian's busybox-static (scripts/ensure-apt.sh busybox-static). */
export const BUSYBOX = "/bin/busybox";
const EPOCH = "1970-01-01T00:00:00Z";

export const referenceOf = (s: StandIn) => `${s.repository}:${s.tag}`;

const SERVE_PAGE = `#!/bin/sh
# phoenix-lab stand-in: serves /stand-in/www over plain HTTP on each port in $STAND_IN_PORTS.
# Arguments meant for the real image (Portainer's --admin-password-file, …) are ignored.
[ $# -eq 0 ] || echo "stand-in for $STAND_IN_FOR: ignoring arguments: $*" >&2
set -- $STAND_IN_PORTS
while [ $# -gt 1 ]; do /bin/busybox httpd -p "$1" -h /stand-in/www; shift; done
echo "stand-in for $STAND_IN_FOR: plain HTTP on $STAND_IN_PORTS" >&2
exec /bin/busybox httpd -f -p "$1" -h /stand-in/www
`;

const SERVE_PORTAINER_API = `#!/bin/sh
# phoenix-lab stand-in: the Portainer API double (/stand-in/portainer-api) on each port in $STAND_IN_PORTS.
# Like Portainer, --admin-password-file initialises the admin once, when /data holds none yet.
file=
while [ $# -gt 0 ]; do
  case $1 in
    --admin-password-file) file=$2; shift ;;
    --admin-password-file=*) file=\${1#*=} ;;
    *) echo "stand-in for $STAND_IN_FOR: ignoring argument $1" >&2 ;;
  esac
  shift
done
mkdir -p /data/stand-in
if [ -n "$file" ] && [ ! -f /data/stand-in/admin ]; then
  [ -r "$file" ] || { echo "stand-in for $STAND_IN_FOR: cannot read $file" >&2; exit 1; }
  printf 'admin %s\n' "$(printf '%s' "$(cat "$file")" | sha256sum | cut -d' ' -f1)" >/data/stand-in/admin
fi
set -- $STAND_IN_PORTS
while [ $# -gt 1 ]; do nc -ll -p "$1" -e /stand-in/portainer-api & shift; done
echo "stand-in for $STAND_IN_FOR: API double, plain HTTP on $STAND_IN_PORTS" >&2
exec nc -ll -p "$1" -e /stand-in/portainer-api
`;

const SERVE_VLLM = `#!/bin/sh
# phoenix-lab TEST DOUBLE of \`vllm serve <model> [--port P] [--served-model-name N] …\` (not vLLM: no GPU and no
# model here): busybox httpd answering /v1/models with the served model name, on the port it was given.
[ "$1" = serve ] || { echo "stand-in for $STAND_IN_FOR: only 'vllm serve' is doubled, got: $*" >&2; exit 2; }
model=$2
shift 2
port=8000
name=$model
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=$2; shift ;;
    --served-model-name) name=$2; shift ;;
  esac
  shift
done
mkdir -p /tmp/www/v1
printf '{"object":"list","data":[{"id":"%s","object":"model","owned_by":"phoenix-lab stand-in"}]}' "$name" >/tmp/www/v1/models
echo "stand-in for $STAND_IN_FOR: serving $name on port $port" >&2
# As PID 1 httpd would ignore SIGTERM; vLLM exits on it, so \`docker stop\` and a unit restart are quick.
/bin/busybox httpd -f -p "$port" -h /tmp/www &
trap 'kill $!; exit 0' TERM INT
wait
`;

const SERVE_STATIC = `#!/bin/sh
# phoenix-lab stand-in for a static web server (nginx's image: files mounted into /usr/share/nginx/html), plain HTTP
# on each port in $STAND_IN_PORTS with busybox httpd. Exits on SIGTERM, as nginx does (as PID 1 httpd would not).
mkdir -p /usr/share/nginx/html
[ -e /usr/share/nginx/html/index.html ] || cp /stand-in/www/index.html /usr/share/nginx/html/index.html 2>/dev/null
set -- $STAND_IN_PORTS
for port in "$@"; do /bin/busybox httpd -f -p "$port" -h /usr/share/nginx/html & done
echo "stand-in for $STAND_IN_FOR: serving /usr/share/nginx/html on $STAND_IN_PORTS" >&2
trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM INT
wait
`;

const SERVE_AGENT = `#!/bin/sh
# phoenix-lab stand-in for the Portainer agent: GET /ping, and the Docker API of /var/run/docker.sock forwarded, in plain
# HTTP on $STAND_IN_PORTS (lab/host/stand-in-portainer-agent). Arguments meant for the real image are ignored.
[ $# -eq 0 ] || echo "stand-in for $STAND_IN_FOR: ignoring arguments: $*" >&2
exec /stand-in/portainer-agent
`;

const PORTAINER_API = () => readFileSync(join(__dirname, "stand-in-portainer-api.sh"), "utf8");

function page(s: StandIn): string {
  const ref = referenceOf(s);
  return `<!doctype html>
<title>phoenix-lab stand-in for ${ref}</title>
<h1>phoenix-lab stand-in for ${ref}</h1>
<p>This is not ${ref}: the lab has no internet, so its registry serves this stand-in instead, over plain HTTP
on port(s) ${s.ports.join(", ")}${s.serves === "portainer-api" ? ", with a test double of the part of Portainer's API the portainer feature calls under /api" : ""}.</p>
`;
}

function isStaticElf(binary: Buffer): boolean {
  if (binary.subarray(0, 4).toString("latin1") !== "\x7fELF" || binary[4] !== 2) return false; // 64-bit only
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) if (binary.readUInt32LE(phoff + i * phentsize) === PT_INTERP) return false;
  return true;
}

function readBusybox(): Buffer {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: bash scripts/ensure-apt.sh busybox-static`);
  const binary = readFileSync(BUSYBOX);
  // The image has no libc: Debian's dynamically linked busybox would not start in it.
  if (!isStaticElf(binary))
    throw new Error(`${BUSYBOX} is not a static 64-bit binary: bash scripts/ensure-apt.sh busybox-static`);
  return binary;
}

/** The uncompressed layer tar; its sha256 is the image's diff_id. */
export function standInLayer(s: StandIn, busybox: Buffer): Buffer {
  return tar([
    { type: "dir", path: "bin" },
    { type: "file", path: "bin/busybox", mode: 0o755, content: busybox },
    ...APPLETS.map((a) => ({ type: "symlink" as const, path: `bin/${a}`, target: "busybox" })),
    { type: "dir", path: "stand-in" },
    {
      type: "file",
      path: "stand-in/serve",
      mode: 0o755,
      content: {
        page: SERVE_PAGE,
        "portainer-api": SERVE_PORTAINER_API,
        vllm: SERVE_VLLM,
        static: SERVE_STATIC,
        shell: SERVE_PAGE,
        agent: SERVE_AGENT,
      }[s.serves],
    },
    ...(s.serves === "shell" || s.serves === "static"
      ? SHELL_APPLETS.map((a) => ({ type: "symlink" as const, path: `bin/${a}`, target: "busybox" }))
      : []),
    ...(s.serves === "vllm" ? [{ type: "symlink" as const, path: "bin/vllm", target: "../stand-in/serve" }] : []),
    ...(s.serves === "portainer-api"
      ? [{ type: "file" as const, path: "stand-in/portainer-api", mode: 0o755, content: PORTAINER_API() }]
      : []),
    { type: "dir", path: "stand-in/www" },
    { type: "file", path: "stand-in/www/index.html", content: page(s) },
  ]);
}

export function standInConfig(s: StandIn, diffIds: string[]): Buffer {
  const ref = referenceOf(s);
  return Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: EPOCH,
      config: {
        Env: ["PATH=/bin", `STAND_IN_FOR=${ref}`, `STAND_IN_PORTS=${s.ports.join(" ")}`],
        ...(s.serves === "shell" ? { Cmd: ["sh"] } : { Entrypoint: ["/stand-in/serve"] }),
        ExposedPorts: Object.fromEntries(s.ports.map((p) => [`${p}/tcp`, {}])),
        WorkingDir: "/",
        Labels: {
          "org.opencontainers.image.description": `phoenix-lab stand-in for ${ref}: ${{ page: "busybox httpd", "portainer-api": "a test double of its API", vllm: "a test double of vllm serve", static: "busybox httpd serving /usr/share/nginx/html", shell: "Debian's static busybox", agent: "the Docker API of its socket, forwarded" }[s.serves]}, plain HTTP on port(s) ${s.ports.join(", ")}`,
          "org.opencontainers.image.title": `phoenix-lab stand-in for ${ref}`,
        },
      },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map(() => ({ created: EPOCH, created_by: "phoenix-lab lab/host/stand-in-images.ts" })),
    }),
  );
}

/** Pushes every stand-in the registry lacks (or holds in another version); returns the references pushed. */
export async function pushStandInImages(registryUrl: string, log: (s: string) => void = () => {}): Promise<string[]> {
  const busybox = readBusybox();
  const pushed: string[] = [];
  for (const s of STAND_INS) {
    const layer = standInLayer(s, busybox);
    const extra = (s.binaries ?? []).map((b) => binaryLayer(b.tool, b.path, log));
    const gzipped = [gzipSync(layer, { level: 9 }), ...extra.map((x) => x.gzipped)];
    const diffIds = [sha256(layer), ...extra.map((x) => x.diffId)];
    if (await pushImage(registryUrl, s.repository, s.tag, standInConfig(s, diffIds), gzipped)) {
      log(`pushed stand-in ${referenceOf(s)} to ${registryUrl}`);
      pushed.push(referenceOf(s));
    }
  }
  return pushed;
}

/**
 * A layer holding one Go program, built (or found in the cache) by scripts/build-go-tool.sh; the gzipped layer is kept
 * beside the binary, so a large one (Compose: 67 MB) is compressed once, not at every lab up.
 */
export function binaryLayer(
  tool: string,
  inImage: string,
  log: (s: string) => void = () => {},
): { gzipped: Buffer; diffId: string } {
  const script = join(__dirname, "..", "..", "scripts", "build-go-tool.sh");
  const bin = execFileSync("bash", [script, tool], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 20,
  }).trim();
  const st = statSync(bin);
  const cache = `${bin}.layer-${inImage.replace(/[^A-Za-z0-9]+/g, "_")}`;
  const key = `${st.size}:${st.mtimeMs}`;
  if (existsSync(`${cache}.key`) && readFileSync(`${cache}.key`, "utf8") === key)
    return { gzipped: readFileSync(`${cache}.tar.gz`), diffId: readFileSync(`${cache}.diffid`, "utf8") };
  const dirs = inImage.split("/").slice(0, -1);
  const layer = tar([
    ...dirs.map((_, i) => ({ type: "dir" as const, path: dirs.slice(0, i + 1).join("/") })),
    { type: "file", path: inImage, mode: 0o755, content: readFileSync(bin) },
  ]);
  const gzipped = gzipSync(layer, { level: 6 });
  const diffId = sha256(layer);
  writeFileSync(`${cache}.tar.gz`, gzipped);
  writeFileSync(`${cache}.diffid`, diffId);
  writeFileSync(`${cache}.key`, key);
  log(`layer of ${tool} (${(gzipped.length / 1e6).toFixed(1)} MB gzipped) cached beside ${bin}`);
  return { gzipped, diffId };
}
