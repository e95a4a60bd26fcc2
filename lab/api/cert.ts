// The lab API's TLS certificate: self-signed for 127.0.0.1/localhost, made with openssl on first start
// into the state directory and reused afterwards (clients pin it or run insecure, as with a fresh PVE node).
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Certificate {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

export function ensureCertificate(stateDir: string, commonName = "phoenix-lab"): Certificate {
  const dir = join(stateDir, "api");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, "pve-ssl.key");
  const certFile = join(dir, "pve-ssl.pem");
  if (!existsSync(keyFile) || !existsSync(certFile)) {
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
        "3650",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-subj",
        `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${commonName}`,
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "pipe" },
    );
  }
  return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), keyFile, certFile };
}

/**
 * The certificate's SHA-256 fingerprint as `pvenode cert info` prints it (AB:CD:…): what a definition pins. `stateDir`
 * is the API server's, as for ensureCertificate.
 */
export function certificateFingerprint(stateDir: string): string | undefined {
  const certFile = join(stateDir, "api", "pve-ssl.pem");
  return existsSync(certFile) ? new X509Certificate(readFileSync(certFile)).fingerprint256 : undefined;
}
