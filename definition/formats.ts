// Value formats that end up in command lines and unit files: image references (Docker's grammar) and one-line values.
// Each check carries its own fix (load.ts reads params.fix) and, for editors, the pattern in the JSON schema.
import { z } from "zod";

// Docker's reference grammar (github.com/distribution/reference, regexp.go): [host[:port]/]path[:tag][@digest].
const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const NAME = `(?:${HOST}(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const IMAGE_REF = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
/** Docker's limit on the name part; a whole reference (tag and a sha512 digest) stays well under this. */
const NAME_MAX = 255;
const REF_MAX = 600;

/** Whether `s` is an image reference as Docker parses one: lowercase path, optional registry host[:port], tag, digest. */
export function isImageRef(s: string): boolean {
  if (typeof s !== "string" || s.length > REF_MAX) return false;
  const m = IMAGE_REF.exec(s);
  return m !== null && m[1]!.length <= NAME_MAX;
}

export const IMAGE_REF_MESSAGE =
  "not an image reference: expected [registry[:port]/]name[:tag][@algorithm:hex] with a lowercase name, e.g. vllm/vllm-openai:v0.10.1";
export const IMAGE_REF_FIX =
  "write the image as `docker pull` takes it, e.g. registry.example.com:5000/team/vllm:v0.10.1 or vllm/vllm-openai@sha256:<64 hex>: " +
  "lowercase name, no spaces, quotes or line breaks, not starting with '-'";

/** An image reference (vllm.image, portainer.image, and every image an app takes). */
export const imageRef = z
  .string()
  .refine(isImageRef, { message: IMAGE_REF_MESSAGE, params: { fix: IMAGE_REF_FIX } })
  .meta({ pattern: IMAGE_REF.source, description: "An image reference: [registry[:port]/]name[:tag][@digest]" });

/** ASCII control characters: line breaks and carriage returns split a unit file's lines, NUL ends a C string. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;

export function hasControlCharacter(s: string): boolean {
  return CONTROL.test(s);
}

/** A value written into a systemd unit or a command line: one line, no control characters. */
export function oneLine(what: string) {
  return z
    .string()
    .refine((s) => !hasControlCharacter(s), {
      message: `contains a control character (line break, carriage return, NUL, tab…), which would break ${what}`,
      params: { fix: `remove it: this value is written into ${what} as one word of one line` },
    })
    .meta({ pattern: "^[^\\x00-\\x1f\\x7f]*$" });
}
