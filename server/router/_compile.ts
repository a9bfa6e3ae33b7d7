/**
 * Compiles a URLPattern pathname pattern: the tokenizer, parser and regular
 * expression generator of the URLPattern standard (pathname component only,
 * strict policy), and a split of the result into whole path segments that
 * {@linkcode RouteMatcher} can file in its tree.
 *
 * @module
 */

/** The modifier after a part: none, `?`, `*` or `+`. */
type Modifier = "" | "?" | "*" | "+";

/** One part of a parsed pattern, as the URLPattern standard defines it. */
export interface Part {
  /** `fixed` text, a `segment` wildcard (`:name`), a `full` wildcard (`*`), a custom `regexp`. */
  type: "fixed" | "segment" | "full" | "regexp";
  /** The fixed text (encoded), or the custom regular expression. */
  value: string;
  modifier: Modifier;
  /** The group name: the `:name`, or "0", "1"… for unnamed groups. */
  name: string;
  prefix: string;
  suffix: string;
}

/** One step of a route in the tree: a whole path segment. */
export type Step =
  | { kind: "static"; text: string }
  | { kind: "param"; name: string; regexp: string | null };

/** How a pattern is filed in the tree. */
export interface Shape {
  /** Whole segments from the start of the path. */
  steps: Step[];
  /**
   * What follows the steps: nothing (`end`), the rest of the path after a
   * `/` (`wildcard`, with its group name), or a regular expression over the
   * whole pathname (`regexp`: the part the tree cannot express).
   */
  tail:
    | { kind: "end" }
    | { kind: "wildcard"; name: string }
    | { kind: "regexp"; regexp: RegExp; names: string[] };
}

const SEGMENT_WILDCARD = "[^\\/]+?";
const MAX_VARIANTS = 16;

interface Token {
  type: "char" | "escaped" | "name" | "regexp" | "asterisk" | "modifier" | "open" | "close" | "end";
  value: string;
}

function fail(pattern: string, reason: string): never {
  throw new TypeError(`Cannot compile route pattern "${pattern}": ${reason}`);
}

function isNameChar(c: string, first: boolean): boolean {
  if (c === "$" || c === "_") return true;
  if (!first && (c === "\u200C" || c === "\u200D")) return true;
  return first ? /\p{ID_Start}/u.test(c) : /\p{ID_Continue}/u.test(c);
}

function tokenize(pattern: string): Token[] {
  const chars = [...pattern];
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    if (c === "*") tokens.push({ type: "asterisk", value: c });
    else if (c === "+" || c === "?") tokens.push({ type: "modifier", value: c });
    else if (c === "{") tokens.push({ type: "open", value: c });
    else if (c === "}") tokens.push({ type: "close", value: c });
    else if (c === "\\") {
      if (i + 1 >= chars.length) fail(pattern, "a trailing backslash escapes nothing");
      tokens.push({ type: "escaped", value: chars[++i] });
    } else if (c === ":") {
      let name = "";
      while (i + 1 < chars.length && isNameChar(chars[i + 1], name === "")) name += chars[++i];
      if (name === "") fail(pattern, `":" at ${i} is not followed by a group name`);
      tokens.push({ type: "name", value: name });
    } else if (c === "(") {
      i = readRegexp(pattern, chars, i, tokens);
    } else tokens.push({ type: "char", value: c });
    i++;
  }
  tokens.push({ type: "end", value: "" });
  return tokens;
}

/** Reads `(regexp)` starting at `start`; returns the index of its `)`. */
function readRegexp(pattern: string, chars: string[], start: number, tokens: Token[]): number {
  let depth = 1;
  let value = "";
  let i = start + 1;
  if (chars[i] === "?") fail(pattern, `the regular expression at ${start} starts with "?"`);
  for (; i < chars.length; i++) {
    const c = chars[i];
    if (c.charCodeAt(0) > 0x7f) fail(pattern, `the regular expression at ${start} is not ASCII`);
    if (c === "\\") {
      const next = chars[i + 1];
      if (next === undefined || next.charCodeAt(0) > 0x7f) {
        fail(pattern, `the regular expression at ${start} has a bad escape`);
      }
      value += c + next;
      i++;
      continue;
    }
    if (c === ")") {
      if (--depth === 0) break;
    } else if (c === "(") {
      depth++;
      if (chars[i + 1] !== "?") {
        fail(pattern, `the regular expression at ${start} has a capturing group`);
      }
    }
    value += c;
  }
  if (depth !== 0) fail(pattern, `the regular expression at ${start} is not closed`);
  if (value === "") fail(pattern, `the regular expression at ${start} is empty`);
  tokens.push({ type: "regexp", value });
  return i;
}

/** The URLPattern standard's "canonicalize a pathname" for fixed text. */
function encode(value: string): string {
  if (value === "") return value;
  const leadingSlash = value[0] === "/";
  const url = new URL("https://h");
  url.pathname = leadingSlash ? value : `/-${value}`;
  return leadingSlash ? url.pathname : url.pathname.slice(2);
}

/** Parses `pattern` into parts, as URLPattern's "parse a pattern string" does. */
export function parse(pattern: string): Part[] {
  const tokens = tokenize(pattern);
  const parts: Part[] = [];
  const names = new Set<string>();
  let index = 0;
  let pending = "";
  let nextNumber = 0;
  const take = (type: Token["type"]): Token | null =>
    tokens[index].type === type ? tokens[index++] : null;
  const takeText = (): string => {
    let text = "";
    for (let t = take("char") ?? take("escaped"); t; t = take("char") ?? take("escaped")) {
      text += t.value;
    }
    return text;
  };
  const flush = (): void => {
    if (pending === "") return;
    parts.push({
      type: "fixed",
      value: encode(pending),
      modifier: "",
      name: "",
      prefix: "",
      suffix: "",
    });
    pending = "";
  };
  const addPart = (
    prefix: string,
    name: Token | null,
    regexp: Token | null,
    suffix: string,
    mod: Token | null,
  ): void => {
    const modifier = (mod?.value ?? "") as Modifier;
    if (!name && !regexp && modifier === "") {
      pending += prefix;
      return;
    }
    flush();
    if (!name && !regexp) {
      if (prefix === "") return;
      parts.push({
        type: "fixed",
        value: encode(prefix),
        modifier,
        name: "",
        prefix: "",
        suffix: "",
      });
      return;
    }
    let value = !regexp ? SEGMENT_WILDCARD : regexp.type === "asterisk" ? ".*" : regexp.value;
    let type: Part["type"] = "regexp";
    if (value === SEGMENT_WILDCARD) [type, value] = ["segment", ""];
    else if (value === ".*") [type, value] = ["full", ""];
    const groupName = name ? name.value : String(nextNumber++);
    if (names.has(groupName)) fail(pattern, `the group name "${groupName}" is used twice`);
    names.add(groupName);
    parts.push({
      type,
      value,
      modifier,
      name: groupName,
      prefix: encode(prefix),
      suffix: encode(suffix),
    });
  };
  while (index < tokens.length) {
    const char = take("char");
    let name = take("name");
    let regexp = take("regexp") ?? (name ? null : take("asterisk"));
    if (name || regexp) {
      let prefix = char?.value ?? "";
      if (prefix !== "" && prefix !== "/") [pending, prefix] = [pending + prefix, ""];
      flush();
      addPart(prefix, name, regexp, "", take("modifier") ?? take("asterisk"));
      continue;
    }
    const fixed = char ?? take("escaped");
    if (fixed) {
      pending += fixed.value;
      continue;
    }
    if (take("open")) {
      const prefix = takeText();
      name = take("name");
      regexp = take("regexp") ?? (name ? null : take("asterisk"));
      const suffix = takeText();
      if (!take("close")) fail(pattern, `a "{" group is not closed, or holds more than one group`);
      addPart(prefix, name, regexp, suffix, take("modifier") ?? take("asterisk"));
      continue;
    }
    flush();
    if (!take("end")) fail(pattern, `unexpected "${tokens[index].value}" at token ${index}`);
  }
  return parts;
}

function escape(text: string): string {
  return text.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
}

/** The regular expression URLPattern builds for `parts`, and its group names. */
export function toRegExp(parts: readonly Part[]): { regexp: RegExp; names: string[] } {
  let source = "^";
  const names: string[] = [];
  for (const part of parts) {
    const mod = part.modifier;
    if (part.type === "fixed") {
      source += mod === "" ? escape(part.value) : `(?:${escape(part.value)})${mod}`;
      continue;
    }
    names.push(part.name);
    const re = part.type === "segment"
      ? SEGMENT_WILDCARD
      : part.type === "full"
      ? ".*"
      : part.value;
    const [prefix, suffix] = [escape(part.prefix), escape(part.suffix)];
    if (prefix === "" && suffix === "") {
      source += mod === "" || mod === "?" ? `(${re})${mod}` : `((?:${re})${mod})`;
    } else if (mod === "" || mod === "?") {
      source += `(?:${prefix}(${re})${suffix})${mod}`;
    } else {
      source += `(?:${prefix}((?:${re})(?:${suffix}${prefix}(?:${re}))*)${suffix})`;
      if (mod === "*") source += "?";
    }
  }
  return { regexp: new RegExp(`${source}$`, "v"), names };
}

/**
 * Whether `re` (a URLPattern custom regular expression) can only match text
 * without `/` and only looks at the text it matches, so testing it against
 * one segment is the same as testing it inside the whole pathname.
 */
function segmentSafe(re: string): boolean {
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === "\\") {
      const n = re[++i];
      if (inClass && re[i + 1] === "-") return false;
      if (n === "d" || n === "w") continue;
      if (/[A-Za-z0-9/]/.test(n)) return false;
      continue;
    }
    if (inClass) {
      if (c === "[") return false;
      if (c === "]") inClass = false;
      else if (c === "-" && re[i - 1] !== "[" && re[i + 1] !== "]") {
        if (re[i - 1] <= "/" && re[i + 1] >= "/") return false;
        if (re[i + 1] === "\\") return false;
      }
      continue;
    }
    if (c === "[") {
      if (re[i + 1] === "^") return false;
      inClass = true;
    } else if (c === "(") {
      if (re[i + 1] !== "?" || re[i + 2] !== ":") return false;
    } else if (c === "." || c === "^" || c === "$" || c === "/") return false;
  }
  return true;
}

/** Splits a parts list with no modifiers into steps and a tail, or returns null. */
function toShape(parts: readonly Part[]): Shape | null {
  // Atoms: literal characters, and groups standing for whole segments.
  const atoms: (string | Part)[] = [];
  for (const [i, part] of parts.entries()) {
    if (part.modifier !== "") return null;
    if (part.type === "fixed") {
      atoms.push(...part.value);
      continue;
    }
    if (part.type === "full") {
      if (i !== parts.length - 1 || part.prefix !== "/" || part.suffix !== "") return null;
    } else if (part.type === "regexp" && !segmentSafe(part.value)) return null;
    atoms.push(...part.prefix, part, ...part.suffix);
  }
  if (atoms[0] !== "/") return null;
  const steps: Step[] = [];
  let i = 1;
  while (true) {
    let end = i;
    while (end < atoms.length && atoms[end] !== "/") end++;
    const seg = atoms.slice(i, end);
    if (seg.every((a) => typeof a === "string")) steps.push({ kind: "static", text: seg.join("") });
    else if (seg.length !== 1) return null;
    else {
      const part = seg[0] as Part;
      if (part.type === "full") return { steps, tail: { kind: "wildcard", name: part.name } };
      steps.push({
        kind: "param",
        name: part.name,
        regexp: part.type === "regexp" ? part.value : null,
      });
    }
    if (end >= atoms.length) return { steps, tail: { kind: "end" } };
    i = end + 1;
  }
}

/**
 * The shapes to file for `pattern`, in the order URLPattern would prefer
 * them: one per choice of present/absent optional parts when those choices
 * cannot match the same path, otherwise one shape whose tail is URLPattern's
 * own regular expression after the longest prefix of plain segments.
 */
export function compile(pattern: string): Shape[] {
  const parts = parse(pattern);
  let whole: { regexp: RegExp; names: string[] };
  try {
    whole = toRegExp(parts);
  } catch (err) {
    fail(pattern, `its regular expression is invalid (${(err as Error).message})`);
  }
  const optional = parts.filter((p) => p.modifier === "?").length;
  if (
    parts.every((p) => p.modifier === "" || p.modifier === "?") && 2 ** optional <= MAX_VARIANTS
  ) {
    const shapes: Shape[] = [];
    for (let mask = 2 ** optional - 1; mask >= 0; mask--) {
      // Bit k (counted from the first optional part) set: the part is present.
      let k = optional;
      const variant: Part[] = [];
      for (const p of parts) {
        if (p.modifier !== "?") variant.push(p);
        else if ((mask >> --k) & 1) variant.push({ ...p, modifier: "" });
      }
      const shape = toShape(variant);
      if (!shape || shape.tail.kind !== "end") break;
      shapes.push(shape);
    }
    const counts = new Set(shapes.map((s) => s.steps.length));
    if (shapes.length === 2 ** optional && counts.size === shapes.length) return shapes;
    if (optional === 0) {
      const shape = toShape(parts);
      if (shape) return [shape];
    }
  }
  return [fallback(parts, whole)];
}

/** Plain leading segments as steps, and URLPattern's regular expression for the rest. */
function fallback(
  parts: readonly Part[],
  whole: { regexp: RegExp; names: string[] },
): Shape {
  const steps: Step[] = [];
  const first = parts[0];
  if (first?.type === "fixed" && first.modifier === "") {
    // Whole segments of the leading fixed text that something follows.
    const text = first.value;
    const next = parts[1];
    // The text ends a segment when a "/" that must be there follows it.
    const slash = next?.prefix === "/" && (next.modifier === "" || next.modifier === "+");
    const closed = slash ? text : text.slice(0, text.lastIndexOf("/"));
    if (closed.startsWith("/")) {
      for (const seg of closed.slice(1).split("/")) steps.push({ kind: "static", text: seg });
    }
  }
  return { steps, tail: { kind: "regexp", regexp: whole.regexp, names: whole.names } };
}
