// An adopted guest's step skips its install only when its check exits 0, so a check must mean "converged with these
// settings": each feature's check run against guests set up otherwise (the original system's way, by hand) with the
// recording test doubles, refusing what its script would change.
import { afterEach, describe, expect, it } from "vitest";
import { renderDocker } from "../../provisioners/docker/docker";
import { renderNvidiaContainerToolkit } from "../../provisioners/nvidia-container-toolkit/nvidia-container-toolkit";
import { renderPortainer } from "../../provisioners/portainer/portainer";
import { renderVllm } from "../../provisioners/vllm/vllm";
import { freezeScripts } from "../../provisioners/freeze-template/freeze-template";
import type { RenderedFeature } from "../../provisioners/engine/feature";
import { GuestSandbox, ok } from "../support/guest-sandbox";

const sandboxes: GuestSandbox[] = [];
const sandbox = () => {
  const s = new GuestSandbox();
  sandboxes.push(s);
  return s;
};
afterEach(() => sandboxes.splice(0).forEach((s) => s.dispose()));
const check = (s: GuestSandbox, f: RenderedFeature) => s.run(f.checkScript!, f.params);
/** The doubles' state as a plain script would leave it: docker.io (and, unless not, Debian's docker-compose) installed, enabled, running. */
const dockerByHand = (s: GuestSandbox, daemon = "{}", enabled = true, compose = true) => {
  s.setState("pkgs", compose ? "docker.io\ndocker-compose\n" : "docker.io\n");
  s.setState("docker-installed");
  if (compose) ok(s.run("apt-get install -y docker-compose", {}));
  if (enabled) s.setState("enabled-docker");
  s.setState("active-docker");
  s.write("etc/docker/daemon.json", daemon + "\n");
};

describe("docker's check", () => {
  const f = renderDocker({ source: "debian", daemon: {} }, { nvidiaRuntime: false });

  it("passes for docker.io installed by hand, enabled, running, with the declared daemon.json", () => {
    const s = sandbox();
    dockerByHand(s);
    expect(ok(check(s, f)).stdout).toBe("docker server 24.0.7\ncompose: docker-compose\ndaemon.json as declared\n");
  });

  it("fails without a compose CLI, which the feature installs for apps", () => {
    const s = sandbox();
    dockerByHand(s, "{}", true, false);
    expect(check(s, f)).toMatchObject({
      code: 1,
      stdout: expect.stringContaining("no compose CLI (docker compose, docker-compose)"),
    });
  });

  it("fails when the source differs: docker.io runs but the definition asks for Docker's packages", () => {
    const s = sandbox();
    dockerByHand(s);
    const r = check(s, renderDocker({ source: "docker", daemon: {} }, { nvidiaRuntime: false }));
    expect(r).toMatchObject({ code: 1, stdout: "package docker-ce is not installed (source: docker)\n" });
  });

  it("fails when docker is not enabled at boot, or daemon.json differs", () => {
    const s = sandbox();
    dockerByHand(s, "{}", false);
    expect(check(s, f)).toMatchObject({ code: 1, stdout: expect.stringContaining("docker.service is not enabled at boot") });
    const t = sandbox();
    dockerByHand(t, '{"log-driver":"local"}');
    expect(check(t, f)).toMatchObject({ code: 1, stdout: expect.stringContaining("daemon.json differs from the definition") });
  });

  it("fails when Docker's apt repository is configured but the source is Debian's", () => {
    const s = sandbox();
    dockerByHand(s);
    s.write("etc/apt/sources.list.d/docker.list", "deb https://download.docker.com/linux/debian bookworm stable\n");
    expect(check(s, f)).toMatchObject({ code: 1, stdout: expect.stringContaining("Docker's apt repository is configured") });
  });
});

describe("portainer's check", () => {
  /** A container as `docker run` by hand makes it (the docker double records its ports and restart policy). */
  const runByHand = (s: GuestSandbox, args: string[]) => {
    const r = s.run(`docker run -d --name portainer_agent ${args.join(" ")} portainer/agent:lts`, {});
    expect(r.code).toBe(0);
  };

  it("passes for an agent published on its declared port that restarts always", () => {
    const s = sandbox();
    dockerByHand(s);
    runByHand(s, ["--restart=always", "-p", "9001:9001"]);
    expect(ok(check(s, renderPortainer({ role: "agent" }))).stdout).toBe(
      "portainer agent portainer/agent:lts on port 9001, running: true\n",
    );
  });

  it("fails for another published port, or a container that does not restart", () => {
    const s = sandbox();
    dockerByHand(s);
    runByHand(s, ["--restart=always", "-p", "9101:9001"]);
    expect(check(s, renderPortainer({ role: "agent" })).code).toBe(1);
    const t = sandbox();
    dockerByHand(t);
    runByHand(t, ["-p", "9001:9001"]);
    expect(check(t, renderPortainer({ role: "agent" })).code).toBe(1);
  });
});

describe("nvidia-container-toolkit's check", () => {
  it("fails when daemon.json lacks what the feature writes, though docker lists the runtime", () => {
    const s = sandbox();
    const daemon = { "log-driver": "local" };
    dockerByHand(s, '{"runtimes":{"nvidia":{"path":"nvidia-container-runtime","args":[]}}}');
    ok(s.run("apt-get install nvidia-container-toolkit", {}));
    const f = renderNvidiaContainerToolkit(daemon);
    expect(check(s, f)).toMatchObject({ code: 1, stdout: expect.stringContaining("daemon.json differs from the definition") });
    s.write("etc/docker/daemon.json", f.params.DOCKER_DAEMON_JSON_NVIDIA + "\n");
    expect(ok(check(s, f)).stdout).toContain("docker runtime nvidia configured");
  });
});

describe("vllm's check", () => {
  it("fails for a unit that serves the model with other engine arguments", () => {
    const s = sandbox();
    const f = renderVllm({
      model: "m",
      servedModelName: "m",
      port: 8000,
      host: "0.0.0.0",
      tensorParallelSize: 1,
      maxModelLen: 8192,
      args: {},
      install: "venv",
    });
    s.setState("active-vllm");
    s.setState("enabled-vllm");
    s.write(
      "etc/systemd/system/vllm.service",
      "[Service]\nExecStart=/opt/vllm/bin/vllm serve m --host 0.0.0.0 --port 8000 --served-model-name m --tensor-parallel-size 1\n",
    );
    expect(check(s, f)).toMatchObject({ code: 1, stdout: expect.stringMatching(/^vllm\.service runs other arguments/) });
  });
});

describe("an adopted golden template's freeze step", () => {
  const run = (s: GuestSandbox, adopt: boolean) => s.run(freezeScripts(adopt).script, { VMID: "901" });
  const checkOf = (s: GuestSandbox, adopt: boolean) => s.run(freezeScripts(adopt).checkScript, { VMID: "901" });

  it("keeps a container with snapshots (the original's final-form, its linked clones' base) as it is, and its check agrees", () => {
    const s = sandbox();
    s.setState("ct-snapshots", "final-form\n");
    const r = ok(run(s, true));
    expect(r.stdout).toContain("CT 901 has snapshots, so Proxmox cannot make it a template");
    expect(r.calls.filter((c) => c.startsWith("pct template"))).toEqual([]);
    expect(ok(checkOf(s, true)).stdout).toBe("container with snapshots (adopted)\n");
    // a template the stack builds itself is frozen whatever it has, and its check wants a template
    expect(checkOf(s, false).code).toBe(1);
  });

  it("freezes an adopted container without snapshots, and leaves one that is a template already", () => {
    const s = sandbox();
    expect(ok(run(s, true)).calls).toContain("pct template 901");
    expect(ok(checkOf(s, true)).stdout).toBe("template\n");
    expect(ok(run(s, true)).calls.filter((c) => c.startsWith("pct template"))).toEqual([]);
  });
});
