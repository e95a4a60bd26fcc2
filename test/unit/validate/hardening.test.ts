// Bad definitions, hostile or careless input (issue 11): TLS to the node's API, file references that leave the
// definition's directory, values Proxmox, ZFS or the engine would misread or refuse during `up`, characters that
// inject Proxmox options, and raw LXC options that give a guest its node. One case per rule, with path and fix.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireProjectFile } from "../../../definition/files";
import { profileText } from "../../../provisioners/apparmor/apparmor";
import { renderCustomScript } from "../../../provisioners/script/script";
import { FINGERPRINT_HOWTO } from "../../../validate/access";
import { type Case, LAB_FINGERPRINT, OUTSIDE_DIR, PROJECT_DIR, lxc, runCases, vm } from "./support";

const PROPERTY_STRING =
  "holds ',', '=', white space, a control character or a '..' part (or is over 4096 characters), which Proxmox's mount point option would misread";
const OUTSIDE = "write a path relative to the definition's directory, to a file inside it (copy the file there)";
const HOST_ACCESS_FIX = (path: string) =>
  `remove it (mountPoints and gpus cover bind mounts and GPUs), or, if the guest must reach its node, set ${path}.allowHostAccess: { reason: "…" }`;
const script = (path: string) => (d: any) => (d.guests[1].features = { script: { path } });

/** Item 9: TLS verification of the node's API. */
const tls: Case[] = [
  {
    name: "insecure: true is a warning naming the node, with how to pin instead",
    mutate: (d) => {
      delete d.nodes[0].api.fingerprint;
      d.nodes[0].api.insecure = true;
    },
    expect: [
      {
        severity: "warning",
        path: "nodes[0].api.insecure",
        message:
          "TLS verification is off for node 'lab': anyone on the network path to https://127.0.0.1:8006/ can read its API login",
        fix: `pin the node's certificate instead: set nodes[0].api.fingerprint to its SHA-256 fingerprint and remove insecure; ${FINGERPRINT_HOWTO}`,
      },
    ],
  },
  {
    name: "an http:// API endpoint is an error",
    mutate: (d) => (d.nodes[0].api.endpoint = "http://127.0.0.1:8006/"),
    expect: [
      {
        path: "nodes[0].api.endpoint",
        message: "node 'lab': the API endpoint http://127.0.0.1:8006/ is plain http, which would send the login unencrypted",
        fix: "use https://<host>:8006/ (Proxmox serves its API over TLS only)",
      },
    ],
  },
  {
    name: "insecure together with a pinned fingerprint",
    mutate: (d) => (d.nodes[0].api.insecure = true),
    expect: [
      {
        path: "nodes[0].api.insecure",
        message: "node 'lab': insecure turns certificate checks off, and fingerprint pins the certificate",
        fix: "remove insecure: the pinned fingerprint is checked instead",
      },
    ],
  },
  {
    name: "a fingerprint that is not a SHA-256 one",
    mutate: (d) => (d.nodes[0].api.fingerprint = "AB:CD:EF"),
    expect: [
      {
        path: "nodes[0].api.fingerprint",
        message: "a SHA-256 fingerprint as `pvenode cert info` prints it: 32 hex pairs, AB:CD:…",
      },
    ],
  },
  {
    name: "an endpoint with a newline is refused, not normalized away",
    mutate: (d) => (d.nodes[0].api.endpoint = "https://127.0.0.1:8006/\nx"),
    expect: [{ path: "nodes[0].api.endpoint", message: "an http(s) URL without spaces or control characters" }],
  },
];

/** Item 10: one resolver for file references, inside the definition's directory. */
const files: Case[] = [
  {
    name: "a script path that climbs out of the definition's directory",
    mutate: script("../../../../etc/passwd"),
    expect: [
      {
        path: "guests[1].features.script.path",
        message: "../../../../etc/passwd points outside the definition's directory",
        fix: OUTSIDE,
      },
    ],
  },
  {
    name: "an absolute script path",
    mutate: script("/etc/passwd"),
    expect: [
      {
        path: "guests[1].features.script.path",
        message: "/etc/passwd is not relative to the definition's directory",
        fix: OUTSIDE,
      },
    ],
  },
  {
    name: "a script reached through a symlink to outside the directory",
    mutate: script("scripts/linked.sh"),
    expect: [
      {
        path: "guests[1].features.script.path",
        message: `scripts/linked.sh resolves through a symlink to ${join(OUTSIDE_DIR, "secret.sh")}, outside the definition's directory`,
        fix: OUTSIDE,
      },
    ],
  },
  {
    name: "a path through a symlinked directory (etc-link → /etc)",
    mutate: script("etc-link/passwd"),
    expect: [
      {
        path: "guests[1].features.script.path",
        message: "etc-link/passwd resolves through a symlink to /etc/passwd, outside the definition's directory",
        fix: OUTSIDE,
      },
    ],
  },
  {
    name: "a missing script",
    mutate: script("scripts/missing.sh"),
    expect: [
      {
        path: "guests[1].features.script.path",
        message: `scripts/missing.sh does not exist (looked for ${join(PROJECT_DIR, "scripts", "missing.sh")})`,
        fix: "create the file, or correct the path",
      },
    ],
  },
  {
    name: "an empty script",
    mutate: script("scripts/empty.sh"),
    expect: [{ path: "guests[1].features.script.path", message: "scripts/empty.sh is empty" }],
  },
  {
    name: "a directory where a script should be",
    mutate: script("scripts/dir.sh"),
    expect: [{ path: "guests[1].features.script.path", message: "scripts/dir.sh is not a regular file" }],
  },
  {
    name: "an AppArmor profile file outside the directory",
    mutate: (d) => (d.nodes[0].apparmorProfiles = [{ name: "lxc-phoenix-test", file: "../outside/secret.sh" }]),
    expect: [
      {
        path: "nodes[0].apparmorProfiles[0].file",
        message: "../outside/secret.sh points outside the definition's directory",
        fix: OUTSIDE,
      },
    ],
  },
  {
    name: "an AppArmor profile and a script inside the directory are fine",
    mutate: (d) => {
      d.nodes[0].apparmorProfiles = [{ name: "lxc-phoenix-test", file: "apparmor/lxc-phoenix-test" }];
      d.guests[1].features = { apparmor: { profile: "lxc-phoenix-test" }, script: { path: "./scripts/../scripts/setup.sh" } };
    },
    expect: [],
  },
];

/** Item 11: what validated and then failed `up`. */
const gaps: Case[] = [
  {
    name: "a newline in lxcOptions",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.apparmor.profile=unconfined\nlxc.hook.pre-start=/tmp/x"]),
    expect: [
      {
        path: "guests[1].lxcOptions[0]",
        message: "one raw line such as lxc.apparmor.profile=unconfined (no newline or control characters)",
      },
    ],
  },
  {
    name: "a ZFS property name outside ZFS's grammar",
    mutate: (d) => (d.nodes[0].zfs.datasets[1].properties["quota;rm"] = "1G"),
    expect: [
      {
        path: 'nodes[0].zfs.datasets[1].properties["quota;rm"]',
        message: 'key "quota;rm": a ZFS property name such as compression, com.example:note or userquota@bob',
        fix: "rename the key",
      },
    ],
  },
  {
    name: "a newline in a ZFS property value",
    mutate: (d) => (d.nodes[0].zfs.datasets[1].properties.compression = "lz4\ncompression=off"),
    expect: [
      {
        path: "nodes[0].zfs.datasets[1].properties.compression",
        message: "a ZFS property value on one line (no newline or control characters)",
      },
    ],
  },
  {
    name: "a dataset named tank/..",
    mutate: (d) => d.nodes[0].zfs.datasets.push({ name: "tank/.." }),
    expect: [
      {
        path: "nodes[0].zfs.datasets[2].name",
        message: "pool/dataset, e.g. tank/models (ZFS's characters, no '.' or '..' part, at most 255 characters)",
      },
    ],
  },
  {
    name: "a script env name that is not a shell name",
    mutate: (d) => (d.guests[1].features = { script: { path: "scripts/setup.sh", env: { "MODEL DIR": "/models" } } }),
    expect: [
      {
        path: 'guests[1].features.script.env["MODEL DIR"]',
        message: "key \"MODEL DIR\": a shell variable name: letters, digits and '_', not starting with a digit",
        fix: "rename the key",
      },
    ],
  },
  {
    name: "a script env name bash keeps read-only",
    mutate: (d) => (d.guests[1].features = { script: { path: "scripts/setup.sh", env: { EUID: "0" } } }),
    expect: [
      {
        path: "guests[1].features.script.env.EUID",
        message:
          'key "EUID": not a name bash lets a script set (BASHOPTS, BASH_ARGV0, BASH_VERSINFO, EUID, PPID, SHELLOPTS, UID and __phx* are taken)',
      },
    ],
  },
  {
    name: "a malformed SSH host key",
    mutate: (d) => (d.nodes[0].ssh.hostKey = "ssh-ed25519 not-base64!"),
    expect: [
      {
        path: "nodes[0].ssh.hostKey",
        message: "an OpenSSH public key (ssh-ed25519 AAAA…, as in /etc/ssh/ssh_host_ed25519_key.pub) or SHA256:…",
      },
    ],
  },
  {
    name: "a tag with ';' (Proxmox separates tags with it)",
    mutate: (d) => (d.guests[0].tags = ["web;prod"]),
    expect: [
      {
        path: "guests[0].tags[0]",
        message: "a Proxmox tag: letters, digits, '_', '-', '+', '.' (no spaces or ';'), at most 128 characters",
      },
    ],
  },
  {
    name: "a tag with a space",
    mutate: (d) => (d.guests[0].tags = ["ai", "my tag"]),
    expect: [
      {
        path: "guests[0].tags[1]",
        message: "a Proxmox tag: letters, digits, '_', '-', '+', '.' (no spaces or ';'), at most 128 characters",
      },
    ],
  },
  {
    name: "disk.size 1e300",
    mutate: (d) => (d.guests[0].disk.size = 1e300),
    expect: [
      { path: "guests[0].disk.size", message: "at most 1048576 GiB (1 PiB)", fix: "use a value within that limit" },
      { path: "guests[0].disk.size", message: "a whole number of GiB" },
    ],
  },
  {
    name: "a fractional disk size (the provider takes whole GiB)",
    mutate: (d) => (d.guests[0].disk.size = 2.5),
    expect: [{ path: "guests[0].disk.size", message: "expected a whole number", fix: "write a whole number" }],
  },
  {
    name: "memory beyond Proxmox's 256 TiB",
    mutate: (d) => (d.guests[1].memory = 1e12),
    expect: [
      { path: "guests[1].memory", message: "Too big: expected number to be <=268435456", fix: "use a value within that limit" },
    ],
  },
  {
    name: "more cores than the provider gives a container",
    mutate: (d) => {
      delete d.nodes[0].cores;
      d.guests[1].cores = 200;
    },
    expect: [
      { path: "guests[1].cores", message: "'data' asks for 200 cores; a container gets at most 128", fix: "use at most 128" },
    ],
  },
  {
    name: "more cores than the provider gives a VM",
    mutate: (d) => {
      delete d.nodes[0].cores;
      d.guests.push(vm(300, "vm1", { cores: 4096 }));
    },
    expect: [{ path: "guests[2].cores", message: "'vm1' asks for 4096 cores; a VM gets at most 2304", fix: "use at most 2304" }],
  },
  {
    name: "a name longer than a hostname label",
    mutate: (d) => (d.guests[1].name = "d".repeat(64)),
    expect: [{ path: "guests[1].name", message: "at most 63 characters (a hostname label)" }],
  },
  {
    name: "an SSH host that is not a host name or address",
    mutate: (d) => (d.nodes[0].ssh.host = "-oProxyCommand=sh"),
    expect: [{ path: "nodes[0].ssh.host", message: "a host name or an IP address" }],
  },
  {
    name: "a cloud-init user that is not a user name",
    mutate: (d) => d.guests.push(vm(300, "vm1", { cloudInit: { user: "root;reboot" } })),
    expect: [{ path: "guests[2].cloudInit.user", message: "a user name such as phoenix" }],
  },
  {
    name: "a cloud-init SSH key that is not one",
    mutate: (d) => d.guests.push(vm(300, "vm1", { cloudInit: { sshKeys: ["ssh-ed25519 AAAA x\nssh-rsa AAAA evil"] } })),
    expect: [{ path: "guests[2].cloudInit.sshKeys[0]", message: "an OpenSSH public key such as ssh-ed25519 AAAA… user@host" }],
  },
  {
    name: "a template URL with a newline",
    mutate: (d) => (d.templates[0].source = { storage: "local", url: "https://example.org/x\n.tar.zst", checksum: "sha256:ab" }),
    expect: [{ path: "templates[0].source.url", message: "an http(s) URL without spaces or control characters" }],
  },
  {
    name: "a template file with '..'",
    mutate: (d) => (d.templates[0].source.file = "vztmpl/../../etc/passwd"),
    expect: [{ path: "templates[0].source.file", message: "a file such as vztmpl/debian-12.tar.zst (no '..')" }],
  },
  {
    name: "a description beyond Proxmox's 8 KiB",
    mutate: (d) => (d.guests[0].description = "x".repeat(8193)),
    expect: [{ path: "guests[0].description", message: "Too big: expected string to have <=8192 characters" }],
  },
  {
    name: "a search domain that is not a DNS name",
    mutate: (d) => (d.guests[0].searchDomain = "lab.internal,evil"),
    expect: [{ path: "guests[0].searchDomain", message: "a DNS domain such as lab.internal" }],
  },
];

/** Item 12: Proxmox property strings are comma-separated; these fields end up inside them. */
const injection: Case[] = [
  {
    name: "a NIC name carrying options (eth0,bridge=vmbr9)",
    mutate: (d) => (d.guests[1].network[0].name = "eth0,bridge=vmbr9"),
    expect: [
      {
        path: "guests[1].network[0].name",
        message: "an interface name such as eth0: a letter or digit, then letters, digits, '_', '.', '-', at most 15 characters",
      },
    ],
  },
  {
    name: "a mount path carrying options (/data,ro=0)",
    mutate: (d) => (d.guests[1].mountPoints[0].path = "/data,backup=1"),
    expect: [
      {
        path: "guests[1].mountPoints[0].path",
        message: `path "/data,backup=1" ${PROPERTY_STRING}`,
        fix: "rename the directory (or mount a parent) so the path has none of them",
      },
    ],
  },
  {
    name: "a hostPath carrying options",
    mutate: (d) => (d.guests[1].mountPoints[0] = { hostPath: "/srv/data,mp=/etc", path: "/data" }),
    expect: [{ path: "guests[1].mountPoints[0].hostPath", message: `hostPath "/srv/data,mp=/etc" ${PROPERTY_STRING}` }],
  },
  {
    name: "a subdir with white space",
    mutate: (d) => (d.guests[1].mountPoints[0].subdir = "my data"),
    expect: [{ path: "guests[1].mountPoints[0].subdir", message: `subdir "my data" ${PROPERTY_STRING}` }],
  },
  {
    name: "a dataset mountpoint with a comma (a mount point's source is built from it)",
    mutate: (d) => (d.nodes[0].zfs.datasets[1].properties.mountpoint = "/srv/shared,mp=/etc"),
    expect: [
      {
        path: "nodes[0].zfs.datasets[1].properties.mountpoint",
        message:
          "mountpoint \"/srv/shared,mp=/etc\" is not an absolute path without ',', '=', white space or '..' (guests' mount points are built from it)",
        fix: "use an absolute path such as /mnt/models, or none / legacy",
      },
    ],
  },
];

/** Item 20: raw LXC options that give a guest its node. */
const reason = { reason: "the vendor's GPU monitor needs /dev/nvidia-caps" };
const hostAccess: Case[] = [
  {
    name: "a hook (code run on the node) without allowHostAccess",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.hook.pre-start = /usr/local/bin/setup-ct"]),
    expect: [
      {
        path: "guests[1].lxcOptions[0]",
        message: "lxc.hook.pre-start gives 'data' host code: a hook runs a program on the node",
        fix: HOST_ACCESS_FIX("guests[1]"),
      },
    ],
  },
  {
    name: "an rbind of the node's / without allowHostAccess",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.mount.entry: / host none rbind,create=dir 0 0"]),
    expect: [
      {
        path: "guests[1].lxcOptions[0]",
        message: "lxc.mount.entry gives 'data' host filesystem: it mounts / of the node into the guest",
      },
    ],
  },
  {
    name: "devices.allow = a without allowHostAccess",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.cgroup2.devices.allow = a"]),
    expect: [
      {
        path: "guests[1].lxcOptions[0]",
        message: "lxc.cgroup2.devices.allow gives 'data' host devices: it allows the node's devices (a) in the guest",
      },
    ],
  },
  {
    name: "a writable /sys without allowHostAccess",
    mutate: (d) => (d.guests[1].lxcOptions = ["lxc.mount.auto: proc:mixed sys:rw"]),
    expect: [
      {
        path: "guests[1].lxcOptions[0]",
        message: "lxc.mount.auto gives 'data' host filesystem: it mounts the node's /proc, /sys or cgroups writable",
      },
    ],
  },
  {
    name: "allowHostAccess: true without a reason",
    mutate: (d) => {
      d.guests[1].lxcOptions = ["lxc.hook.mount = /usr/local/bin/x"];
      d.guests[1].allowHostAccess = true;
    },
    expect: [
      {
        path: "guests[1].allowHostAccess",
        message: "allowHostAccess on 'data' needs the reason the guest may reach its node",
        fix: 'write allowHostAccess: { reason: "…" } (who needs it and why), or remove it',
      },
      { path: "guests[1].lxcOptions[0]", message: "lxc.hook.mount gives 'data' host code: a hook runs a program on the node" },
    ],
  },
  {
    name: "allowHostAccess with a blank reason",
    mutate: (d) => {
      d.guests[1].lxcOptions = ["lxc.cgroup2.devices.allow: c 195:* rwm"];
      d.guests[1].allowHostAccess = { reason: "  " };
    },
    expect: [
      { path: "guests[1].allowHostAccess.reason", message: "the reason is empty" },
      {
        path: "guests[1].lxcOptions[0]",
        message: "lxc.cgroup2.devices.allow gives 'data' host devices: it allows the node's devices (c 195:* rwm) in the guest",
      },
    ],
  },
  {
    name: "allowed with a reason, as root@pam: accepted",
    mutate: (d) => {
      d.guests[1].lxcOptions = [
        "lxc.cgroup2.devices.allow: c 195:* rwm",
        "lxc.mount.entry: /dev/nvidia-caps dev/nvidia-caps none bind,optional,create=dir",
      ];
      d.guests[1].allowHostAccess = reason;
    },
    expect: [],
  },
  {
    name: "allowed with a reason, but logged in with an API token: the root@pam rule of bind mounts",
    mutate: (d) => {
      d.nodes[0].api = {
        endpoint: "https://127.0.0.1:8006/",
        fingerprint: LAB_FINGERPRINT,
        token: { secret: "proxmoxApiToken" },
      };
      d.templates = [d.templates[0]];
      d.guests = [lxc(300, "ct", { lxcOptions: ["lxc.hook.start-host = /usr/local/bin/x"], allowHostAccess: reason })];
    },
    expect: [
      {
        path: "nodes[0].api",
        message:
          "'ct' sets lxcOptions that reach the node (lxc.hook.start-host); like bind mounts, Proxmox lets only root@pam set them (not its API tokens)",
        fix: "log in as root@pam: username: root@pam, password: { secret: … }",
      },
    ],
  },
  {
    name: "options confined to the container need no allowance",
    mutate: (d) =>
      (d.guests[1].lxcOptions = [
        "lxc.apparmor.profile=unconfined",
        "lxc.cap.keep=sys_admin",
        "lxc.mount.entry: tmpfs tmp tmpfs defaults 0 0",
      ]),
    expect: [],
  },
  {
    name: "allowHostAccess where no option needs it (a warning)",
    mutate: (d) => (d.guests[1].allowHostAccess = reason),
    expect: [
      {
        severity: "warning",
        path: "guests[1].allowHostAccess",
        message: "allowHostAccess is set on 'data', but none of its lxcOptions reach the node",
        fix: "remove allowHostAccess",
      },
    ],
  },
  {
    name: "allowHostAccess on a VM",
    mutate: (d) => d.guests.push(vm(300, "vm1", { allowHostAccess: reason })),
    expect: [{ path: "guests[2].allowHostAccess", message: "allowHostAccess applies to LXC containers' lxcOptions only" }],
  },
];

describe("bad definitions: TLS to the node's API", () => runCases(tls, 5));
describe("bad definitions: file references", () => runCases(files, 9));
describe("bad definitions: values `up` would fail on", () => runCases(gaps, 22));
describe("bad definitions: Proxmox option injection", () => runCases(injection, 5));
describe("bad definitions: raw LXC options reaching the node", () => runCases(hostAccess, 11));

describe("the components read file references through the same resolver", () => {
  it("a custom script outside the directory is refused before anything is sent", () => {
    expect(() => renderCustomScript({ path: "../../../../etc/passwd", env: {} }, PROJECT_DIR)).toThrow(
      `features.script.path: ../../../../etc/passwd points outside the definition's directory\n  fix: ${OUTSIDE}`,
    );
    expect(() => renderCustomScript({ path: "/etc/passwd", env: {} }, PROJECT_DIR)).toThrow(
      "features.script.path: /etc/passwd is not relative to the definition's directory",
    );
    expect(renderCustomScript({ path: "scripts/setup.sh", env: {} }, PROJECT_DIR).script).toBe("#!/bin/bash\necho set up\n");
  });

  it("an AppArmor profile behind a symlink to outside is refused", () => {
    expect(() => profileText("p", [{ name: "p", file: "scripts/linked.sh" }], PROJECT_DIR)).toThrow(
      `apparmorProfiles 'p' file: scripts/linked.sh resolves through a symlink to ${join(OUTSIDE_DIR, "secret.sh")}, outside the definition's directory`,
    );
  });

  it("a golden template's build hashes the file the script step sends, resolved the same way (absolute paths refused)", () => {
    expect(() => requireProjectFile(PROJECT_DIR, join(PROJECT_DIR, "scripts", "setup.sh"), "features.script.path")).toThrow(
      "is not relative to the definition's directory",
    );
  });
});
