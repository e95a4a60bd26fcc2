// A node's pinned API certificate (nodes[].api.fingerprint): checked against a TLS server on loopback before the
// provider gets the endpoint; a mismatch fails with both fingerprints and nothing is sent.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerArgs } from "../../components/args/host";
import { certificateFingerprint } from "../../lab/api/cert";
import { startLabApi } from "../../lab/api/server";
import { MemoryBackend } from "../../lab/pve/memory-backend";
import { CertificateMismatchError, presentedFingerprint, verifyApiCertificate } from "../../provisioners/engine/api-certificate";
import { pveSession } from "../../provisioners/engine/pve-api";
import { ProxmoxReader } from "../../cli/proxmox-api";
import { ProxmoxClient } from "../../cli/proxmox";
import type { PlannedNode } from "../../plan/plan";
import { type Registered, installRecordingMocks, settle } from "../support/pulumi-mocks";

let dir: string;
let server: tls.Server;
let endpoint: string;
let fingerprint: string;
/** What reached the server after the handshake: must stay empty (the check sends nothing). */
const received: Buffer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "phx-cert-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-sha256",
      "-days",
      "2",
      "-keyout",
      join(dir, "k.pem"),
      "-out",
      join(dir, "c.pem"),
    ].concat(["-subj", "/CN=pve-test", "-addext", "subjectAltName=IP:127.0.0.1"]),
    { stdio: "pipe" },
  );
  const cert = readFileSync(join(dir, "c.pem"));
  fingerprint = new X509Certificate(cert).fingerprint256;
  server = tls.createServer({ key: readFileSync(join(dir, "k.pem")), cert }, (s) =>
    s.on("data", (d: Buffer) => received.push(d)),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const node = (api: Record<string, unknown>, name = "pve"): PlannedNode =>
  ({ name, api, datasets: [], gpuMappings: [], apparmorProfiles: [] }) as never;

describe("verifyApiCertificate", () => {
  it("resolves when the node presents the pinned certificate (pvenode's AB:CD:… form, or plain hex in any case)", async () => {
    await expect(verifyApiCertificate("pve", endpoint, fingerprint)).resolves.toBeUndefined();
    await expect(verifyApiCertificate("pve", endpoint, fingerprint.replace(/:/g, "").toLowerCase())).resolves.toBeUndefined();
    expect(await presentedFingerprint(endpoint)).toBe(fingerprint);
  });

  it("fails with both fingerprints on a mismatch, and sends the server nothing", async () => {
    const pinned = fingerprint.replace(/^../, fingerprint.startsWith("00") ? "01" : "00");
    const err = await verifyApiCertificate("pve", endpoint, pinned).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(CertificateMismatchError);
    expect(err!.message).toContain(`the API certificate of node 'pve' at ${endpoint} does not match the pinned fingerprint:`);
    expect(err!.message).toContain(`expected (nodes[].api.fingerprint): ${pinned}`);
    expect(err!.message).toContain(`the node presented:                  ${fingerprint}`);
    expect(err!.message).toContain("`pvenode cert info`");
    expect(received).toEqual([]);
  });

  it("fails clearly when nothing answers, or the server does not speak TLS", async () => {
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(verifyApiCertificate("pve", `https://127.0.0.1:${port}/`, fingerprint)).rejects.toThrow(
      `cannot check the API certificate at https://127.0.0.1:${port}/: connect ECONNREFUSED`,
    );
    const plain = createTcpServer((s) => s.end("HTTP/1.0 400 Bad Request\r\n\r\n"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    const plainPort = (plain.address() as AddressInfo).port;
    await expect(verifyApiCertificate("pve", `https://127.0.0.1:${plainPort}/`, fingerprint, 5000)).rejects.toThrow(
      `cannot check the API certificate at https://127.0.0.1:${plainPort}/`,
    );
    plain.close();
  });
});

describe("the provider's arguments", () => {
  it("a pinned node: the provider skips its own chain check and takes the endpoint the pin check released", () => {
    const released = Promise.resolve("https://10.0.0.13:8006/");
    const args = providerArgs(node({ endpoint: "https://10.0.0.13:8006/", insecure: false, fingerprint }), {}, released);
    expect(args.insecure).toBe(true);
    expect(args.endpoint).toBe(released);
    expect(() => providerArgs(node({ endpoint: "https://10.0.0.13:8006/", insecure: false, fingerprint }), {})).toThrow(
      "node 'pve' pins its API certificate: give the endpoint its pin check released",
    );
  });

  it("an unpinned node: verified against the system's CAs unless insecure", () => {
    expect(providerArgs(node({ endpoint: "https://pve.example:8006/", insecure: false }), {})).toMatchObject({
      endpoint: "https://pve.example:8006/",
      insecure: false,
    });
  });
});

describe("NodeHost wiring (Pulumi mocks)", () => {
  let records: Registered[];

  it("registers the provider only after the pin check, with insecure set and the same endpoint", async () => {
    records = await installRecordingMocks("pin");
    const { NodeHost } = await import("../../components/node-host");
    new NodeHost("pve", {
      node: node({ endpoint, insecure: false, fingerprint }),
      vmGpus: new Set(),
      password: "x",
    });
    for (let i = 0; i < 100 && !records.some((r) => r.type === "pulumi:providers:proxmoxve"); i++) await settle(records);
    const provider = records.find((r) => r.type === "pulumi:providers:proxmoxve")!;
    expect(provider.inputs.endpoint).toBe(endpoint);
    expect(provider.inputs.insecure).toBe("true");
  });
});

describe("the lab's certificate (what the demo and the e2e stacks pin)", () => {
  it("certificateFingerprint names the certificate the lab's API serves", async () => {
    const state = mkdtempSync(join(tmpdir(), "phx-lab-cert-"));
    const api = await startLabApi({ stateDir: state, port: 0, node: "lab", tokens: [], backend: new MemoryBackend() });
    try {
      const served = await presentedFingerprint(api.url);
      expect(certificateFingerprint(state)).toBe(served);
      await expect(verifyApiCertificate("lab", api.url, certificateFingerprint(state)!)).resolves.toBeUndefined();
    } finally {
      await api.close();
      rmSync(state, { recursive: true, force: true });
    }
  });
});

/** Runs `f` against a lab API (in-memory backend, token root@pam!phoenix=s3cret) in a temporary state directory. */
async function withLabApi(prefix: string, f: (api: { url: string }, state: string) => Promise<void>): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const api = await startLabApi({
    stateDir: state,
    port: 0,
    node: "lab",
    tokens: [{ id: "root@pam!phoenix", secret: "s3cret" }],
    backend: new MemoryBackend(),
  });
  try {
    await f(api, state);
  } finally {
    await api.close();
    rmSync(state, { recursive: true, force: true });
  }
}

describe("the backup providers' API client with a pinned certificate", () => {
  it("talks to the node when the fingerprint matches; on a mismatch it fails with both and sends nothing", async () => {
    await withLabApi("phx-lab-pin-", async (api, state) => {
      const pinned = { endpoint: api.url, token: "root@pam!phoenix=s3cret", fingerprint: certificateFingerprint(state)! };
      const version = await (await pveSession(pinned)).call<{ version: string }>("GET", "version");
      expect(version.version).toMatch(/^\d+\.\d+/);
      // Without the pin the self-signed certificate is refused, as before.
      await expect((await pveSession({ endpoint: api.url, token: pinned.token })).call("GET", "version")).rejects.toThrow(
        /self-signed/,
      );
      // The TLS server of this file presents another certificate: nothing may reach it.
      received.length = 0;
      const other = { endpoint, token: pinned.token, fingerprint: pinned.fingerprint };
      await expect((await pveSession(other)).call("GET", "version")).rejects.toThrow(
        `expected ${pinned.fingerprint}, the node presented ${fingerprint}; nothing was sent`,
      );
      expect(Buffer.concat(received).length).toBe(0);
    });
  });
});

describe("phoenix adopt's API reader with a pinned certificate", () => {
  it("reads the node when the fingerprint matches, and refuses another certificate before sending anything", async () => {
    await withLabApi("phx-lab-pin-cli-", async (api, state) => {
      const login = { endpoint: api.url, insecure: false, token: "root@pam!phoenix=s3cret" };
      const pinned = new ProxmoxReader({ ...login, fingerprint: certificateFingerprint(state)! });
      expect((await pinned.get<{ node: string }[]>("nodes")).map((n) => n.node)).toEqual(["lab"]);
      const wrong = new ProxmoxReader({ ...login, fingerprint: "AB".repeat(32) });
      await expect(wrong.get("nodes")).rejects.toThrow(/is not the pinned one .*; nothing was sent/);
    });
  });
});

describe("the day-two verbs' API client (rollback, restore, run-job) with a pinned certificate", () => {
  it("talks to the node when the fingerprint matches; refuses another certificate, and the unpinned default, before sending", async () => {
    await withLabApi("phx-lab-pin-day-two-", async (api, state) => {
      const login = { endpoint: api.url, token: "root@pam!phoenix=s3cret" };
      const pinned = await ProxmoxClient.login({ ...login, fingerprint: certificateFingerprint(state)! });
      expect((await pinned.call<{ node: string }[]>("GET", "nodes")).map((n) => n.node)).toEqual(["lab"]);
      const wrong = await ProxmoxClient.login({ ...login, fingerprint: "AB".repeat(32) });
      await expect(wrong.call("GET", "nodes")).rejects.toThrow(/is not the pinned one .*; nothing was sent/);
      // neither pinned nor insecure: the system's CAs, which do not know the lab's self-signed certificate
      await expect((await ProxmoxClient.login(login)).call("GET", "nodes")).rejects.toThrow(/self-signed certificate/);
    });
  });
});
