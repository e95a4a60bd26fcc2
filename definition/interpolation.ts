// Variable references in text, in the two syntaxes apps use: Compose's interpolation in compose files (what the
// compose CLI resolves in the guest) and the one config-file templates take (${VAR}, ${VAR:-default}, $${ escapes).
// Pure: validation finds what a file uses, the app provisioner renders templates with it.

/** How a compose reference treats an unset (or empty) variable: Compose's own operators. */
export type ComposeOperator = "" | ":-" | "-" | ":?" | "?" | ":+" | "+";

export interface VariableRef {
  name: string;
  operator: ComposeOperator;
  /** The text after the operator (a default, an error message or an alternative), unresolved. */
  argument: string;
  /** The argument itself holds another reference (${A:-${B}}): Compose v2 only. */
  nested: boolean;
  /** The $NAME form, without braces. */
  bare: boolean;
}

export type Token = { kind: "text"; text: string } | ({ kind: "ref" } & VariableRef);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPERATORS: ComposeOperator[] = [":-", ":?", ":+", "-", "?", "+"];

/** The index of the `}` closing the `${` that starts at `open`, counting nested `${ … }`; -1 when there is none. */
function closingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "$" && s[i + 1] === "$") i++;
    else if (s[i] === "$" && s[i + 1] === "{") {
      depth++;
      i++;
    } else if (s[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Compose's interpolation of one string: `$$` is a literal `$`, `$NAME`, `${NAME}` and `${NAME<op>arg}` are references. */
export function tokenizeCompose(s: string): { tokens: Token[]; error?: string } {
  const tokens: Token[] = [];
  let text = "";
  const flush = () => {
    if (text) tokens.push({ kind: "text", text });
    text = "";
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== "$") {
      text += c;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      text += "$";
      i++;
    } else if (next === "{") {
      const end = closingBrace(s, i);
      if (end < 0) return { tokens, error: `unclosed \${ in "${s}"` };
      const inner = s.slice(i + 2, end);
      const name = NAME.exec(inner)?.[0];
      const rest = name ? inner.slice(name.length) : "";
      const operator = OPERATORS.find((op) => rest.startsWith(op)) ?? (rest === "" ? "" : undefined);
      if (!name || operator === undefined) return { tokens, error: `invalid interpolation \${${inner}} in "${s}"` };
      const argument = rest.slice(operator.length);
      flush();
      tokens.push({ kind: "ref", name, operator, argument, nested: /\$\{|\$[A-Za-z_]/.test(argument), bare: false });
      i = end;
    } else if (next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = NAME.exec(s.slice(i + 1))![0];
      flush();
      tokens.push({ kind: "ref", name, operator: "", argument: "", nested: false, bare: true });
      i += name.length;
    } else text += "$";
  }
  flush();
  return { tokens };
}

/** Every reference in a string, nested ones included. */
export function composeRefs(s: string): { refs: VariableRef[]; error?: string } {
  const { tokens, error } = tokenizeCompose(s);
  const refs: VariableRef[] = [];
  for (const t of tokens)
    if (t.kind === "ref") {
      refs.push(t);
      if (t.nested) {
        const inner = composeRefs(t.argument);
        refs.push(...inner.refs);
        if (inner.error) return { refs, error: inner.error };
      }
    }
  return { refs, ...(error ? { error } : {}) };
}

/** Whether Compose resolves this reference without the variable being set: it has a default or an alternative. */
export function hasFallback(r: VariableRef): boolean {
  return r.operator === ":-" || r.operator === "-" || r.operator === ":+" || r.operator === "+";
}

/**
 * A string as Compose resolves it, given the variables known here (`lookup` returns undefined for unset ones);
 * undefined when the result depends on something not known (`unknown` names it: a secret, say).
 */
export function interpolateCompose(
  s: string,
  lookup: (name: string) => string | undefined,
  unknown = new Set<string>(),
): string | undefined {
  const { tokens, error } = tokenizeCompose(s);
  if (error) return undefined;
  let out = "";
  for (const t of tokens) {
    if (t.kind === "text") {
      out += t.text;
      continue;
    }
    if (unknown.has(t.name)) return undefined;
    const v = lookup(t.name);
    const arg = () => (t.nested ? interpolateCompose(t.argument, lookup, unknown) : t.argument);
    let piece: string | undefined;
    switch (t.operator) {
      case "":
        piece = v ?? "";
        break;
      case ":-":
        piece = v ? v : arg();
        break;
      case "-":
        piece = v !== undefined ? v : arg();
        break;
      case ":?":
      case "?":
        piece = v;
        break;
      case ":+":
        piece = v ? arg() : "";
        break;
      case "+":
        piece = v !== undefined ? arg() : "";
        break;
    }
    if (piece === undefined) return undefined;
    out += piece;
  }
  return out;
}

/** A config-file template's references: `${NAME}` and `${NAME:-default}`; `$${` writes a literal `${`. */
export interface TemplateRef {
  name: string;
  default?: string;
}

const TEMPLATE_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function templateRefs(text: string): TemplateRef[] {
  const refs: TemplateRef[] = [];
  for (const m of text.matchAll(TEMPLATE_REF))
    if (m[1] !== undefined) refs.push({ name: m[1], ...(m[2] !== undefined ? { default: m[2] } : {}) });
  return refs;
}

/** The template with its references replaced; `missing` names references with no value and no default. */
export function renderTemplate(text: string, vars: Readonly<Record<string, string>>): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(TEMPLATE_REF, (whole, name: string | undefined, def: string | undefined) => {
    if (name === undefined) return "${";
    if (Object.prototype.hasOwnProperty.call(vars, name)) return vars[name]!;
    if (def !== undefined) return def;
    missing.push(name);
    return whole;
  });
  return { text: out, missing: [...new Set(missing)] };
}
