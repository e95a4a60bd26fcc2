// Bad definitions, values that end up in command lines and unit files (definition/formats.ts): images as image
// references, one-line vLLM values; and the NVIDIA runfile's checksum.
import { describe } from "vitest";
import { IMAGE_REF_FIX, IMAGE_REF_MESSAGE } from "../../../definition/formats";
import { type Case, gpuGuest, runCases } from "./support";

const UNIT = "contains a control character (line break, carriage return, NUL, tab…), which would break vllm.service's unit file";
const UNIT_FIX = "remove it: this value is written into vllm.service's unit file as one word of one line";
const vllmGuest = (vllm: Record<string, unknown>) => gpuGuest({ features: { vllm: { model: "Qwen/Qwen3-8B", ...vllm } } });
const image = (path: string) => ({ path, message: IMAGE_REF_MESSAGE, fix: IMAGE_REF_FIX });
const unit = (path: string) => ({ path, message: UNIT, fix: UNIT_FIX });

const cases: Case[] = [
  {
    name: "vllm image with a newline (an ExecStartPre= line run as root)",
    mutate: (d) =>
      d.guests.push(vllmGuest({ install: "container", image: "vllm/vllm-openai:latest\nExecStartPre=/bin/sh -c id" })),
    expect: [image("guests[2].features.vllm.image")],
  },
  {
    name: "vllm image with a carriage return",
    mutate: (d) => d.guests.push(vllmGuest({ install: "container", image: "vllm/vllm-openai:latest\rExecStartPre=/bin/sh" })),
    expect: [image("guests[2].features.vllm.image")],
  },
  {
    name: "vllm image with docker run flags in it",
    mutate: (d) => d.guests.push(vllmGuest({ install: "container", image: "--privileged -v /:/host vllm/vllm-openai" })),
    expect: [image("guests[2].features.vllm.image")],
  },
  {
    name: "vllm image with an upper-case path",
    mutate: (d) => d.guests.push(vllmGuest({ install: "container", image: "vllm/VLLM-openai" })),
    expect: [image("guests[2].features.vllm.image")],
  },
  {
    name: "portainer image that is a flag",
    mutate: (d) => (d.guests[0].features.portainer.image = "--privileged"),
    expect: [image("guests[0].features.portainer.image")],
  },
  {
    name: "portainer image with a space",
    mutate: (d) => (d.guests[0].features.portainer.image = "portainer/portainer-ce:lts -v /:/host"),
    expect: [image("guests[0].features.portainer.image")],
  },
  {
    name: "vllm model with a carriage return",
    mutate: (d) => d.guests.push(vllmGuest({ model: "Qwen/Qwen3-8B\rExecStartPre=/bin/sh -c id" })),
    expect: [unit("guests[2].features.vllm.model")],
  },
  {
    name: "vllm served model name with a newline",
    mutate: (d) => d.guests.push(vllmGuest({ servedModelName: "qwen\nExecStartPre=/bin/sh" })),
    expect: [unit("guests[2].features.vllm.servedModelName")],
  },
  {
    name: "vllm host with a NUL",
    mutate: (d) => d.guests.push(vllmGuest({ host: "0.0.0.0\0" })),
    // NUL is refused in any field, before the unit's own rule.
    expect: [
      {
        path: "guests[2].features.vllm.host",
        message: "contains a NUL byte",
        fix: "remove it: no field of a definition takes one",
      },
    ],
  },
  {
    name: "vllm quantization and dtype with line breaks",
    mutate: (d) => d.guests.push(vllmGuest({ quantization: "awq\r\n", dtype: "half\n" })),
    expect: [unit("guests[2].features.vllm.quantization"), unit("guests[2].features.vllm.dtype")],
  },
  {
    name: "vllm args value with a carriage return",
    mutate: (d) => d.guests.push(vllmGuest({ args: { "chat-template": "x\rExecStartPre=/bin/sh" } })),
    expect: [unit("guests[2].features.vllm.args.chat-template")],
  },
  {
    name: "vllm args key that is not an engine argument name",
    mutate: (d) => d.guests.push(vllmGuest({ args: { "--max-num-seqs": 8 } })),
    expect: [
      {
        path: 'guests[2].features.vllm.args["--max-num-seqs"]',
        message: `key "--max-num-seqs": an engine argument name: lowercase, digits and '-', no leading dashes`,
        fix: "rename the key",
      },
    ],
  },
  {
    name: "NVIDIA driver installed on the node without the runfile's checksum",
    mutate: (d) => (d.nodes[0].nvidia.installOnHost = true),
    expect: [
      {
        path: "nodes[0].nvidia.runfileSha256",
        message: "installOnHost runs NVIDIA's runfile as root on node 'lab', and no checksum says which file may run",
        fix:
          "set nodes[0].nvidia.runfileSha256 to the sha256 of NVIDIA-Linux-x86_64-580.76.05.run (sha256sum of the file from " +
          "NVIDIA's download page), or install the driver by hand and set installOnHost: false",
      },
    ],
  },
  {
    name: "NVIDIA runfile checksum that is not a sha256",
    mutate: (d) => Object.assign(d.nodes[0].nvidia, { installOnHost: true, runfileSha256: "md5:abc" }),
    expect: [{ path: "nodes[0].nvidia.runfileSha256", message: "a sha256 checksum: 64 hexadecimal digits" }],
  },
];

describe("bad definitions: values in command lines and units", () => runCases(cases, 14));
