// ESLint 9 flat config: typescript-eslint's recommended rules (syntax only, no type information: fast), import cycles
// forbidden, and the pipeline's layers (README, "Lint and format"). `npm run lint` runs it with Prettier and shellcheck.
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import globals from "globals";

const root = path.dirname(fileURLToPath(import.meta.url));

// ---- Layers -----------------------------------------------------------------------------------------------------
// The pipeline: definition/ → validate/ and plan/ (siblings) → components/ → provisioners/ (features on one engine);
// cli/ drives definition/, validate/, plan/; index.ts wires the product. A later stage may import an earlier one,
// never the reverse. lab/, test/, bench/ and scripts/ (the demo, the launcher) are not product code: they may import
// the product; the product never imports them.
const LATER = "a later stage may import an earlier one, never the reverse";
const PRODUCT = ["./definition", "./validate", "./plan", "./components", "./provisioners", "./cli", "./index.ts"];
const NOT_PRODUCT = ["./lab", "./test", "./bench"];

/** Files in `target` may import, of the project, only `allowed` (node_modules and Node's builtins always). */
const only = (target, allowed, message) => ({
  target,
  from: ".",
  // lab/, test/, bench/ have their own zone below (one error per import, with its own message).
  except: [...allowed, ...NOT_PRODUCT, "./node_modules"],
  message,
});

const features = readdirSync(path.join(root, "provisioners"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== "engine")
  .map((entry) => entry.name);

const zones = [
  only(
    "./definition",
    ["./definition"],
    `definition/ is the first stage and imports nothing of the project outside definition/: ${LATER}.`,
  ),
  only("./validate", ["./validate", "./definition"], `validate/ imports only definition/: ${LATER}.`),
  only(
    "./plan",
    ["./plan", "./definition"],
    `plan/ imports only definition/, not validate/ (buildPlan takes a ValidDefinition; validate/ and plan/ are ` +
      `sibling stages): ${LATER}.`,
  ),
  only(
    "./components",
    ["./components", "./definition", "./plan", "./provisioners"],
    `components/ may import definition/, plan/ and provisioners/ only (not validate/, cli/, lab/): ${LATER}.`,
  ),
  only(
    "./provisioners/engine",
    ["./provisioners/engine", "./definition"],
    "provisioners/engine/ imports only itself and definition/: the engine knows no feature and no later stage.",
  ),
  ...features.map((feature) =>
    only(
      `./provisioners/${feature}`,
      [`./provisioners/${feature}`, "./provisioners/engine", "./definition"],
      `provisioners/${feature}/ may import only its own folder, provisioners/engine/ and definition/: a feature ` +
        `never imports another feature (what two features share belongs in provisioners/engine/).`,
    ),
  ),
  only(
    "./cli",
    ["./cli", "./definition", "./validate", "./plan"],
    `cli/ may import definition/, validate/, plan/ and cli/ only (not components/, provisioners/, lab/): ${LATER}.`,
  ),
  {
    target: "./index.ts",
    from: "./scripts",
    message: "index.ts wires the product: it may import every stage, never scripts/, lab/, test/ or bench/.",
  },
  {
    target: PRODUCT,
    from: "./lab",
    message:
      "product code never imports lab/ (only lab/, test/, bench/ and scripts/ do; the launcher scripts/phoenix.cjs " +
      "wires the lab's verb).",
  },
  { target: PRODUCT, from: ["./test", "./bench"], message: "product code never imports test/ or bench/." },
];

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", ".pulumi-state/", "tmp/", "scripts/toolchain/"] },
  {
    files: ["**/*.{ts,mts,cts,js,mjs,cjs}"],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    plugins: { "import-x": importX },
    languageOptions: { ecmaVersion: 2022, globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: path.join(root, "tsconfig.json") })],
      "import-x/extensions": [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      // An import the resolver cannot follow would slip past no-cycle and the layers: make it an error.
      "import-x/no-unresolved": ["error", { commonjs: true }],
      "import-x/no-restricted-paths": ["error", { basePath: root, zones }],
      // The engine require()s packages and builtins inside functions on purpose: Pulumi serializes the dynamic
      // providers' functions, which must not capture top-level imports (provisioners/engine/script-provider.ts).
      "@typescript-eslint/no-require-imports": ["error", { allow: ["^node:", "^node-ssh$"] }],
      // `const { secret: _s, ...rest } = x` drops fields; `_`-prefixed names are unused on purpose.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "max-lines": ["warn", { max: 400 }],
      "max-lines-per-function": ["warn", { max: 80 }],
    },
  },
  {
    files: ["test/**", "bench/**"],
    rules: {
      // Test data is written loosely on purpose (partial definitions, doubles); bench/ reuses the tests' definitions.
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    files: ["test/**"],
    rules: {
      // Suites are long by nature: a describe() is one function holding many tests.
      "max-lines": "off",
      "max-lines-per-function": "off",
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
