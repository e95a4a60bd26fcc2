// Pushing a hand-made image (Docker manifest v2 schema 2) to a registry over its HTTP API, without docker.
import { createHash } from "node:crypto";

export const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";
export const IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json";
export const LAYER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export function sha256(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function manifestOf(config: Buffer, gzippedLayers: Buffer[]): Buffer {
  const descriptor = (mediaType: string, b: Buffer) => ({ mediaType, size: b.length, digest: sha256(b) });
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_V2,
      config: descriptor(IMAGE_CONFIG, config),
      layers: gzippedLayers.map((l) => descriptor(LAYER_TAR_GZIP, l)),
    }),
  );
}

async function expectStatus(res: Response, status: number, what: string): Promise<void> {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
}

/** Uploads the blob unless the repository already has it (monolithic upload: POST, then PUT with the digest). */
async function pushBlob(registryUrl: string, repository: string, blob: Buffer): Promise<void> {
  const digest = sha256(blob);
  const head = await fetch(`${registryUrl}/v2/${repository}/blobs/${digest}`, { method: "HEAD" });
  if (head.status === 200) return;
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  await expectStatus(start, 202, `start upload of ${digest} to ${repository}`);
  const location = new URL(start.headers.get("location") ?? "", registryUrl);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(blob.length) },
    body: blob,
  });
  await expectStatus(put, 201, `upload ${digest} to ${repository}`);
}

/**
 * Pushes the image's blobs and manifest as repository:tag. Does nothing, and returns false, when the tag
 * already names this very manifest.
 */
export async function pushImage(
  registryUrl: string,
  repository: string,
  tag: string,
  config: Buffer,
  gzippedLayers: Buffer[],
): Promise<boolean> {
  const manifest = manifestOf(config, gzippedLayers);
  const manifestUrl = `${registryUrl}/v2/${repository}/manifests/${tag}`;
  const current = await fetch(manifestUrl, { method: "HEAD", headers: { Accept: MANIFEST_V2 } });
  if (current.status === 200 && current.headers.get("docker-content-digest") === sha256(manifest)) return false;
  for (const blob of [config, ...gzippedLayers]) await pushBlob(registryUrl, repository, blob);
  const put = await fetch(manifestUrl, { method: "PUT", headers: { "Content-Type": MANIFEST_V2 }, body: manifest });
  await expectStatus(put, 201, `put manifest ${repository}:${tag}`);
  return true;
}
