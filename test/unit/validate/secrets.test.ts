// Bad definitions, secrets (validate/secrets.ts): plaintext values are refused, named, and never shown.
import { describe, expect, it } from "vitest";
import { type Case, SECRET_VALUE, base, gpuGuest, problemsOf, vm, runCases } from "./support";

const cases: Case[] = [
  {
    name: "plaintext secret in portainer.adminPassword",
    mutate: (d) => (d.guests[0].features.portainer.adminPassword = SECRET_VALUE),
    expect: [
      {
        path: "guests[0].features.portainer.adminPassword",
        message: "plaintext secret in the definition (the value is not shown here)",
      },
    ],
  },
  {
    name: "plaintext token in vllm.args",
    mutate: (d) =>
      d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2", args: { "api-key": "abc" } } } })),
    expect: [
      {
        path: "guests[2].features.vllm.args.api-key",
        message: "'api-key' looks like a secret given in plaintext (the value is not shown here)",
      },
    ],
  },
  {
    name: "plaintext hfToken",
    mutate: (d) =>
      d.guests.push(gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", version: "0.10.2", hfToken: "hf_abc" } } })),
    expect: [
      { path: "guests[2].features.vllm.hfToken", message: "plaintext secret in the definition (the value is not shown here)" },
    ],
  },
  {
    name: "plaintext root password on the node",
    mutate: (d) => (d.nodes[0].api.password = "hunter2"),
    expect: [{ path: "nodes[0].api.password", message: "plaintext secret in the definition (the value is not shown here)" }],
  },
  {
    name: "an API token where Proxmox needs root@pam (keyctl for Docker in an unprivileged container)",
    mutate: (d) => (d.nodes[0].api = { endpoint: "https://127.0.0.1:8006/", token: { secret: "proxmoxApiToken" } }),
    expect: [
      {
        path: "nodes[0].api",
        message:
          "'docker-golden' needs GPU passthrough, bind mounts or keyctl, which Proxmox lets only root@pam set (not its API tokens)",
      },
    ],
  },
  {
    name: "both a token and a password",
    mutate: (d) => (d.nodes[0].api.token = { secret: "proxmoxApiToken" }),
    expect: [
      { path: "nodes[0].api", message: "give either token or username and password" },
      {
        path: "nodes[0].api",
        message:
          "'docker-golden' needs GPU passthrough, bind mounts or keyctl, which Proxmox lets only root@pam set (not its API tokens)",
      },
    ],
  },
  {
    name: "a password without its username",
    mutate: (d) => delete d.nodes[0].api.username,
    expect: [{ path: "nodes[0].api.username", message: "a password needs its username" }],
  },
  {
    name: "plaintext password in a script's env",
    mutate: (d) => (d.guests[1].features = { script: { path: "scripts/setup.sh", env: { DB_PASSWORD: "pw" } } }),
    expect: [
      {
        path: "guests[1].features.script.env.DB_PASSWORD",
        message: "'DB_PASSWORD' looks like a secret given in plaintext (the value is not shown here)",
      },
    ],
  },
  {
    name: "GPU passed to a VM and used by a container",
    mutate: (d) =>
      d.guests.push(gpuGuest({ gpus: [0], features: { vllm: { model: "m", version: "0.10.2" } } }), vm(300, "ws", { gpus: [0] })),
    expect: [{ path: "guests[3].gpus", message: "GPU 0 is passed through to VM 'ws' and also used by container 'llm'" }],
  },
  {
    name: "not an SSH public key",
    mutate: (d) => (d.access = { sshKeys: ["not a key"] }),
    expect: [{ path: "access.sshKeys[0]", message: "an OpenSSH public key such as ssh-ed25519 AAAA… user@host" }],
  },
];

describe("bad definitions: secrets", () => runCases(cases, 10));

describe("secrets are named, never shown", () => {
  it("a plaintext portainer password: the value appears nowhere, the fix names the config key", () => {
    const raw = base();
    raw.guests[0].features.portainer.adminPassword = SECRET_VALUE;
    const problems = problemsOf(raw);
    const p = problems.find((x) => x.path === "guests[0].features.portainer.adminPassword")!;
    expect(p).toBeDefined();
    expect(p.message).not.toContain(SECRET_VALUE);
    expect(p.fix).toContain("pulumi config set --secret phoenix:portainerAdminPassword");
    expect(JSON.stringify(problems)).not.toContain(SECRET_VALUE);
  });

  it("a plaintext token in vllm.args: the value appears nowhere", () => {
    const raw = base();
    raw.guests.push(
      gpuGuest({ features: { vllm: { model: "m", version: "0.10.2", args: { "api-key": "abc-very-secret-123" } } } }),
    );
    const problems = problemsOf(raw);
    expect(problems.map((p) => p.path)).toEqual(["guests[2].features.vllm.args.api-key"]);
    expect(JSON.stringify(problems)).not.toContain("abc-very-secret-123");
  });

  // Found by this suite: the secret check once matched "token" anywhere in a key, so --tokenizer failed.
  it("vllm.args tokenizer (a model id) is not mistaken for a secret", () => {
    const raw = base();
    raw.guests.push(
      gpuGuest({
        features: {
          vllm: {
            model: "m",
            version: "0.10.2",
            args: { tokenizer: "mistralai/Mistral-7B-Instruct-v0.3", "tokenizer-mode": "mistral" },
          },
        },
      }),
    );
    expect(problemsOf(raw)).toEqual([]);
  });
});
