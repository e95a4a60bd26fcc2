// Lab VMs as QEMU processes. Each VM gets a qcow2 overlay on the lab's VM image as its disk, a NoCloud config
// drive made from its Proxmox config, a tap device named as Proxmox names them (tap<vmid>i<n>) on the bridge
// its netN names, and its guest agent on a unix socket, which is where the API reads its interfaces from.
// This machine's /dev/kvm boots no stock kernel (PVM), so the default accelerator is software emulation.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { GuestInterface, GuestRuntime } from "../pve/backend";
import type { PveConfig } from "../pve/pve-config";
import { netDevices, noCloudSeed } from "./cloud-init-seed";
import { ok, run, waitFor } from "./run";
import type { VmImage } from "./vm-image";

export interface QemuRunnerOptions {
  stateDir: string;
  image: VmImage;
  aptProxy?: string;
  /** QEMU's -accel: tcg (default) or kvm where /dev/kvm runs stock kernels. */
  accel?: string;
}

export class QemuRunner {
  constructor(private readonly o: QemuRunnerOptions) {}

  dir(vmid: number): string {
    return join(this.o.stateDir, "qemu", String(vmid));
  }

  private pid(vmid: number): number | undefined {
    const file = join(this.dir(vmid), "qemu.pid");
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  }

  async start(vmid: number, config: PveConfig, log: (s: string) => void = () => {}): Promise<void> {
    if (this.pid(vmid)) return;
    const dir = this.dir(vmid);
    mkdirSync(join(dir, "seed"), { recursive: true });
    const disk = join(dir, "disk.qcow2");
    if (!existsSync(disk))
      run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", this.o.image.disk, disk, `${diskSizeOf(config)}`]);
    const seed = noCloudSeed(vmid, config, this.o.aptProxy ? { aptProxy: this.o.aptProxy } : {});
    for (const [name, text] of Object.entries(seed)) writeFileSync(join(dir, "seed", name), text);
    run("genisoimage", [
      "-quiet",
      "-output",
      join(dir, "seed.iso"),
      "-volid",
      "cidata",
      "-joliet",
      "-rock",
      ...Object.keys(seed).map((n) => join(dir, "seed", n)),
    ]);
    const nets = netDevices(config);
    const netArgs: string[] = [];
    for (const nic of nets) {
      const tap = tapName(vmid, nic.index);
      if (!ok("ip", ["link", "show", nic.bridge])) throw new Error(`bridge '${nic.bridge}' does not exist`);
      if (!ok("ip", ["link", "show", tap])) run("ip", ["tuntap", "add", tap, "mode", "tap"]);
      run("ip", ["link", "set", tap, "master", nic.bridge, "up"]);
      netArgs.push(
        "-netdev",
        `tap,id=net${nic.index},ifname=${tap},script=no,downscript=no`,
        "-device",
        `virtio-net-pci,netdev=net${nic.index},mac=${nic.mac}`,
      );
    }
    rmSync(join(dir, "console.log"), { force: true });
    run("qemu-system-x86_64", [
      "-accel",
      this.o.accel ?? "tcg",
      "-name",
      `vm${vmid}`,
      "-m",
      String(Number(config.memory ?? 512)),
      "-smp",
      String(Number(config.cores ?? 1) * Number(config.sockets ?? 1)),
      "-kernel",
      this.o.image.kernel,
      "-initrd",
      this.o.image.initrd,
      "-append",
      "root=/dev/vda rw console=ttyS0 net.ifnames=0",
      "-drive",
      `file=${disk},if=virtio,format=qcow2`,
      "-drive",
      `file=${join(dir, "seed.iso")},if=virtio,format=raw,readonly=on`,
      ...netArgs,
      "-qmp",
      `unix:${join(dir, "qmp.sock")},server=on,wait=off`,
      "-chardev",
      `socket,id=qga0,path=${join(dir, "qga.sock")},server=on,wait=off`,
      "-device",
      "virtio-serial",
      "-device",
      "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
      "-display",
      "none",
      "-serial",
      `file:${join(dir, "console.log")}`,
      "-daemonize",
      "-pidfile",
      join(dir, "qemu.pid"),
    ]);
    writeFileSync(join(dir, "started"), String(Date.now()));
    log(`VM ${vmid} started (qemu pid ${this.pid(vmid)}, -accel ${this.o.accel ?? "tcg"})`);
  }

  /** Immediate stop, like `qm stop`. */
  async stop(vmid: number): Promise<void> {
    const pid = this.pid(vmid);
    if (pid) {
      process.kill(pid, "SIGTERM");
      await waitFor(`qemu of VM ${vmid} to exit`, () => !existsSync(`/proc/${pid}`), 15_000).catch(() =>
        process.kill(pid, "SIGKILL"),
      );
    }
    for (let i = 0; i < 32; i++)
      if (ok("ip", ["link", "show", tapName(vmid, i)])) run("ip", ["link", "del", tapName(vmid, i)], { allowFail: true });
  }

  /** Clean shutdown (guest agent, ACPI power button); a hard stop after `timeout` seconds when `forceStop`. */
  async shutdown(vmid: number, timeout: number, forceStop: boolean): Promise<void> {
    const pid = this.pid(vmid);
    if (!pid) return;
    // As `qm shutdown`: through the guest agent (it answers nothing when it complies), and the ACPI power
    // button too, which is what a guest without an agent gets; either makes systemd power off.
    await this.agent(vmid, "guest-shutdown", 2000).catch(() => undefined);
    await this.qmp(vmid, "system_powerdown").catch(() => undefined);
    try {
      await waitFor(`VM ${vmid} to shut down`, () => !existsSync(`/proc/${pid}`), timeout * 1000, 500);
    } catch {
      if (!forceStop) throw new Error(`shutdown VM ${vmid} failed - got timeout`);
    }
    await this.stop(vmid);
  }

  runtime(vmid: number): GuestRuntime {
    const pid = this.pid(vmid);
    if (!pid) return { status: "stopped" };
    const started = Number(readFileSync(join(this.dir(vmid), "started"), "utf8"));
    return { status: "running", pid, uptime: Math.max(0, Math.floor((Date.now() - started) / 1000)) };
  }

  /** What the guest agent reports; an error while the agent is not up yet (the provider retries, as on Proxmox). */
  async interfaces(vmid: number): Promise<GuestInterface[]> {
    const reply = (await this.agent(vmid, "guest-network-get-interfaces", 5000)) as {
      name: string;
      "hardware-address"?: string;
      "ip-addresses"?: { "ip-address-type": "ipv4" | "ipv6"; "ip-address": string; prefix: number }[];
    }[];
    return reply.map((i) => ({
      name: i.name,
      hwaddr: i["hardware-address"] ?? "00:00:00:00:00:00",
      addresses: (i["ip-addresses"] ?? []).map((a) => ({
        address: a["ip-address"],
        prefix: a.prefix,
        family: a["ip-address-type"] === "ipv4" ? ("inet" as const) : ("inet6" as const),
      })),
    }));
  }

  async destroy(vmid: number): Promise<void> {
    await this.stop(vmid);
    rmSync(this.dir(vmid), { recursive: true, force: true });
  }

  /** One QMP command to QEMU itself (after the capabilities handshake). */
  private qmp(vmid: number, command: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(join(this.dir(vmid), "qmp.sock"));
      let buf = "";
      let step = 0;
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`QMP of VM ${vmid} did not answer`));
      }, 5000);
      s.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on("data", (d) => {
        buf += d.toString("utf8");
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const line of lines.filter((l) => l.trim())) {
          const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
          if (msg.QMP && step === 0) {
            step = 1;
            s.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
          } else if (msg.return !== undefined && step === 1) {
            step = 2;
            s.write(`${JSON.stringify({ execute: command })}\n`);
          } else if ((msg.return !== undefined || msg.error) && step === 2) {
            clearTimeout(timer);
            s.end();
            if (msg.error) reject(new Error(`QMP ${command}: ${msg.error.desc}`));
            else resolve();
          }
        }
      });
    });
  }

  /** One QEMU guest agent command over the VM's virtio-serial socket. */
  private agent(vmid: number, command: string, timeoutMs: number): Promise<unknown> {
    const path = join(this.dir(vmid), "qga.sock");
    return new Promise((resolve, reject) => {
      if (!this.pid(vmid)) return reject(new Error(`VM ${vmid} is not running`));
      const s = connect(path);
      let buf = "";
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error("QEMU guest agent is not running"));
      }, timeoutMs);
      s.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on("data", (d) => {
        buf += d.toString("utf8");
        const line = buf.split("\n").find((l) => l.trim().startsWith("{"));
        if (!line) return;
        clearTimeout(timer);
        s.end();
        const msg = JSON.parse(line) as { return?: unknown; error?: { desc: string } };
        if (msg.error) reject(new Error(`guest agent: ${msg.error.desc}`));
        else resolve(msg.return);
      });
      s.write(`${JSON.stringify({ execute: command })}\n`);
    });
  }
}

export const tapName = (vmid: number, index: number) => `tap${vmid}i${index}`;

/** The first disk's size from its `size=` (the overlay grows to it; the image is smaller). */
function diskSizeOf(config: PveConfig): string {
  const disk = ["virtio0", "scsi0", "sata0", "ide0"].map((k) => config[k]).find(Boolean);
  const m = disk ? /(?:^|,)size=(\d+)([KMGT]?)/.exec(disk) : null;
  if (!m) return "4G";
  const bytes = Number(m[1]) * { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as "" | "K" | "M" | "G" | "T"];
  return String(Math.max(bytes, 4 * 1024 ** 3));
}

/** The vmids with a directory under <state>/qemu, and a runner for what needs no image (status, stop). */
function labVms(stateDir: string): { vmids: number[]; runner: QemuRunner } {
  const root = join(stateDir, "qemu");
  const vmids = existsSync(root)
    ? readdirSync(root)
        .map(Number)
        .filter((n) => Number.isInteger(n))
        .sort((a, b) => a - b)
    : [];
  return { vmids, runner: new QemuRunner({ stateDir, image: { disk: "", kernel: "", initrd: "" } }) };
}

/** The lab's VMs and whether their QEMU runs. */
export function listVms(stateDir: string): { vmid: number; state: string }[] {
  const { vmids, runner } = labVms(stateDir);
  return vmids.map((vmid) => ({ vmid, state: runner.runtime(vmid).status }));
}

/** `lab down`: every VM of the lab's state stopped and its files removed; the vmids it found. */
export async function stopAllVms(stateDir: string): Promise<number[]> {
  const { vmids, runner } = labVms(stateDir);
  for (const vmid of vmids) await runner.destroy(vmid);
  rmSync(join(stateDir, "qemu"), { recursive: true, force: true });
  return vmids;
}
