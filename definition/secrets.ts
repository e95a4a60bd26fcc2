// How the definition names secrets: keys that look secret, and the fix that turns a plaintext value into a reference.

/** A key names a secret when one of its words does: DB_PASSWORD, hf-token, api_key — not tokenizer. */
export function looksSecret(key: string): boolean {
  const words = key
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const has = (w: string) => words.includes(w);
  const pair = (a: string, b: string) => words.some((w, i) => w === a && words[i + 1] === b);
  return (
    ["password", "passwd", "pass", "token", "secret", "credential", "credentials", "apikey", "passphrase"].some(has) ||
    pair("api", "key") ||
    pair("private", "key") ||
    pair("access", "key")
  );
}

export function secretFix(name: string): string {
  return `run \`pulumi config set --secret phoenix:${name} <value>\` and write { secret: ${name} } here`;
}

/** The secret config key suggested for an app's variable: thinkheads_ai_app + DATABASE_PASS → thinkheadsAiAppDatabasePass. */
export function appSecretName(app: string, variable: string): string {
  const words = `${app} ${variable}`
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  return words
    .map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1)))
    .join("")
    .replace(/^[0-9]+/, "");
}
