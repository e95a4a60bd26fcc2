// What a lab guest's Ollama reaches instead of the internet, served on the lab bridge's gateway address: a release
// mirror (<base>/v<version>/ollama-linux-amd64.tgz and sha256sum.txt, laid out as GitHub's release downloads) holding
// a real Ollama built from its Go module (scripts/build-ollama.sh), and a model registry speaking the part of the
// registry protocol `ollama pull` uses (manifests; blobs redirected to another host name, as Ollama's registry sends
// them to its CDN, with ranges). Its models are TEST MODELS made here: a GGUF header and a config, enough to pull,
// list and delete, not to run.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface OllamaMirror {
  /** http://<address>:<port> */
  url: string;
  /** The release base URL for ollama.source.baseUrl. */
  releases: string;
  /** Full model names (with this registry's host) that `pull` finds. */
  models: string[];
  /** Requests seen, "METHOD path". */
  requests: string[];
  close(): Promise<void>;
}

/** A tiny GGUF (v3) with one metadata key: a valid header, no tensors. Named after the model so each blob differs. */
function testModel(name: string): Buffer {
  const kv = (k: string, v: string) => {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    const b = Buffer.alloc(8 + kb.length + 4 + 8 + vb.length);
    let o = b.writeBigUInt64LE(BigInt(kb.length), 0);
    o += kb.copy(b, o);
    o = b.writeUInt32LE(8, o); // GGUF string
    o = b.writeBigUInt64LE(BigInt(vb.length), o);
    vb.copy(b, o);
    return b;
  };
  const head = Buffer.alloc(24);
  head.write("GGUF", 0);
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(0n, 8);
  head.writeBigUInt64LE(2n, 16);
  return Buffer.concat([head, kv("general.architecture", "llama"), kv("general.name", `phoenix test model ${name}`)]);
}

export async function startOllamaMirror(o: {
  address: string;
  port: number;
  version: string;
  binary: string;
  /** Model names in this registry, namespace/model:tag. */
  models: string[];
}): Promise<OllamaMirror> {
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer) => {
    blobs.set(sha(b), b);
    return { digest: sha(b), size: b.length };
  };
  const manifests = new Map<string, string>();
  for (const name of o.models) {
    const [repo, tag] = name.split(":") as [string, string];
    const model = add(testModel(name));
    const config = add(
      Buffer.from(
        JSON.stringify({
          model_format: "gguf",
          model_family: "llama",
          model_families: ["llama"],
          model_type: "test",
          file_type: "F16",
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: [model.digest] },
        }),
      ),
    );
    manifests.set(
      `${repo}/${tag}`,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: { mediaType: "application/vnd.docker.container.image.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.ollama.image.model", ...model }],
      }),
    );
  }
  // The release: bin/ollama and an empty lib/ollama, as Ollama's Linux tarballs hold them.
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), "phx-ollama-pkg-"));
  fs.mkdirSync(path.join(pkg, "bin"));
  fs.mkdirSync(path.join(pkg, "lib", "ollama"), { recursive: true });
  fs.copyFileSync(o.binary, path.join(pkg, "bin", "ollama"));
  fs.chmodSync(path.join(pkg, "bin", "ollama"), 0o755);
  execFileSync("tar", ["-czf", path.join(pkg, "release.tgz"), "-C", pkg, "bin", "lib"]);
  const tgz = fs.readFileSync(path.join(pkg, "release.tgz"));
  fs.rmSync(pkg, { recursive: true, force: true });
  const sums = `${sha(tgz).slice(7)}  ./ollama-linux-amd64.tgz\n`;

  const url = `http://${o.address}:${o.port}`;
  // Ollama follows redirects to its registry's own host and stops at another host, whose Location it then reads:
  // the blobs go to the same server under another name of its address (IPv4-mapped IPv6).
  const blobHost = `http://[::ffff:${o.address}]:${o.port}`;
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const p = req.url ?? "";
    requests.push(`${req.method} ${p}`);
    let m: RegExpMatchArray | null;
    if (p === `/ollama/v${o.version}/ollama-linux-amd64.tgz`) return send(res, 200, tgz, "application/gzip");
    if (p === `/ollama/v${o.version}/sha256sum.txt`) return send(res, 200, Buffer.from(sums), "text/plain");
    if ((m = p.match(/^\/v2\/(.+)\/manifests\/([^/]+)$/))) {
      const manifest = manifests.get(`${m[1]}/${m[2]}`);
      if (!manifest) return send(res, 404, Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'), "application/json");
      return send(res, 200, Buffer.from(manifest), "application/vnd.docker.distribution.manifest.v2+json");
    }
    if ((m = p.match(/^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/))) {
      res.writeHead(307, { Location: `${blobHost}/blobs/${m[1]}` });
      return res.end();
    }
    if ((m = p.match(/^\/blobs\/(sha256:[0-9a-f]{64})$/))) {
      const b = blobs.get(m[1]!);
      if (!b) return send(res, 404, Buffer.from("no such blob"), "text/plain");
      const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
      if (!range) return send(res, 200, b, "application/octet-stream");
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), b.length - 1) : b.length - 1;
      res.writeHead(206, { "Content-Range": `bytes ${start}-${end}/${b.length}`, "Content-Length": end - start + 1 });
      return res.end(b.subarray(start, end + 1));
    }
    send(res, 404, Buffer.from("not here"), "text/plain");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.address, () => resolve());
  });
  return {
    url,
    releases: `${url}/ollama`,
    models: o.models.map((n) => `${o.address}:${o.port}/${n}`),
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function send(res: http.ServerResponse, status: number, body: Buffer, type: string) {
  res.writeHead(status, { "Content-Type": type, "Content-Length": body.length });
  res.end(body);
}
