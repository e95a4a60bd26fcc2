// /access: login and ticket renewal (POST /access/ticket), the user and realm lists clients read at startup. The
// ticket calls and GET /access/domains are answered without authentication, as pveproxy's auth_handler allows.
import type { Authenticator } from "../auth";
import type { Route } from "../router";

const bool = { type: "boolean", optional: true } as const;

/** Calls pveproxy answers before (without) authentication: "METHOD /path". */
export const PUBLIC_CALLS = new Set(["GET /access/ticket", "POST /access/ticket", "GET /access/domains"]);

const all = (privs: string[]) => Object.fromEntries(privs.map((p) => [p, 1]));

/**
 * The `cap` of root@pam's login on 8.4 (compute_api_permission: every privilege of the Administrator role, per
 * section); other users of the lab hold no ACL entries, so theirs is empty.
 */
const ROOT_CAP = {
  vms: all([
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.Migrate",
    "VM.Monitor",
    "VM.PowerMgmt",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
    "Permissions.Modify",
  ]),
  nodes: all([
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "Sys.AccessNetwork",
    "Permissions.Modify",
  ]),
  dc: all(["Sys.Audit", "Sys.Modify", "SDN.Allocate", "SDN.Audit", "SDN.Use"]),
  storage: all([
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Permissions.Modify",
  ]),
  access: all(["User.Modify", "Group.Allocate", "Permissions.Modify"]),
  sdn: all(["SDN.Allocate", "SDN.Audit", "SDN.Use", "Permissions.Modify"]),
  mapping: all(["Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify"]),
};

const REALMS = [
  { realm: "pam", type: "pam", comment: "Linux PAM standard authentication" },
  { realm: "pve", type: "pve", comment: "Proxmox VE authentication server" },
];

export function accessRoutes(auth: Authenticator): Route[] {
  return [
    {
      method: "POST",
      path: "/access/ticket",
      schema: {
        username: { type: "string", maxLength: 64 },
        password: { type: "string" },
        realm: { type: "string", maxLength: 32, optional: true },
        otp: { type: "string", optional: true },
        path: { type: "string", maxLength: 64, optional: true },
        privs: { type: "string", maxLength: 64, optional: true },
        "new-format": bool,
        "tfa-challenge": { type: "string", optional: true },
      },
      handler: (r) => {
        const { username, realm, password } = r.params;
        const userid = realm && !username!.includes("@") ? `${username}@${realm}` : username;
        const t = auth.login(userid, password);
        return { ...t, cap: t.username === "root@pam" ? ROOT_CAP : {} };
      },
    },
    { method: "GET", path: "/access/ticket", schema: {}, handler: () => null },
    {
      method: "GET",
      path: "/access/users",
      schema: { enabled: bool, full: bool },
      handler: (r) =>
        auth.userIds().map((userid) => ({
          userid,
          enable: 1,
          expire: 0,
          "realm-type": userid.slice(userid.lastIndexOf("@") + 1),
          ...(r.params.full === "1"
            ? { tokens: auth.tokenNames(userid).map((tokenid) => ({ tokenid, expire: 0, privsep: 0 })) }
            : {}),
        })),
    },
    { method: "GET", path: "/access/domains", schema: {}, handler: () => REALMS },
  ];
}
