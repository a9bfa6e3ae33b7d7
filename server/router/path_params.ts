/**
 * Route params typed from a path string: {@linkcode PathParams} reads a
 * URLPattern pathname pattern at the type level and gives the object type of
 * the params that {@linkcode Router} finds for it.
 *
 * Written to keep type-checking flat in large apps: the path is walked one
 * `/` segment at a time by tail-recursive conditional types, plain segments
 * (`users`, `:id`) in one step each; only a segment with a modifier, regular
 * expression, group or escape is read character by character. Keys are
 * collected as two unions (required, optional) and made into one object
 * type at the end. A path it cannot read exactly gives
 * `Record<string, string>`.
 *
 * @module
 */

type Lower =
  | "a"
  | "b"
  | "c"
  | "d"
  | "e"
  | "f"
  | "g"
  | "h"
  | "i"
  | "j"
  | "k"
  | "l"
  | "m"
  | "n"
  | "o"
  | "p"
  | "q"
  | "r"
  | "s"
  | "t"
  | "u"
  | "v"
  | "w"
  | "x"
  | "y"
  | "z";
type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";
/** ASCII characters that may start a group name (`ID_Start`, `$`, `_`). */
type NameStart = Lower | Uppercase<Lower> | "_" | "$";
/** ASCII characters that may continue a group name. */
type NameChar = NameStart | Digit;
/**
 * Printable ASCII characters that end a group name. Anything else after a
 * name (non-ASCII letters may continue it, per `ID_Continue`) is not read:
 * the path falls back to `Record<string, string>`.
 */
type NameEnd =
  | " "
  | "!"
  | '"'
  | "#"
  | "%"
  | "&"
  | "'"
  | "("
  | ")"
  | "*"
  | "+"
  | ","
  | "-"
  | "."
  | "/"
  | ":"
  | ";"
  | "<"
  | "="
  | ">"
  | "?"
  | "@"
  | "["
  | "\\"
  | "]"
  | "^"
  | "`"
  | "{"
  | "|"
  | "}"
  | "~";
/** Characters that make a segment more than fixed text. */
type Special = ":" | "*" | "(" | "{" | "}" | "\\" | "?" | "+";
/** The marker of a path that is not read exactly. */
type Fail = { readonly fail: true };

/**
 * Whether `S` is a whole group name: not empty, ASCII name characters, not
 * starting with a digit.
 */
type IsName<S extends string, First extends boolean = true> = S extends `${infer C}${infer T}`
  ? C extends NameChar ? First extends true ? C extends Digit ? false : IsName<T, false>
    : IsName<T, false>
  : false
  : First extends false ? true
  : false;

/** Text with a character that needs more than the fast path. */
type Complex = `${string}${"*" | "(" | "{" | "}" | "\\" | "?" | "+"}${string}`;

/**
 * The fast path, for a path whose only special character is `:`, except
 * for one common ending: `/*`, `{/:name}?`, `/:name?`, `/:name+`, `/:name*`. Finds each `:`,
 * takes the name up to the next `/` (or the end) and checks that it is all
 * name characters, which makes it the whole name. Anything else is read by
 * {@linkcode Read}.
 *
 * @internal
 */
type Fast<P extends string> = P extends `${string}${"*" | "?" | "+"}` ? (
    P extends `${infer H}/*` ? Head<H, "0", never, P>
      : P extends `${infer H}{/:${infer N}}?` ? Ending<H, N, "?", P>
      : P extends `${infer H}/:${infer N}?` ? Ending<H, N, "?", P>
      : P extends `${infer H}/:${infer N}+` ? Ending<H, N, "+", P>
      : P extends `${infer H}/:${infer N}*` ? Ending<H, N, "?", P>
      : Read<P>
  )
  : Head<P, never, never, P>;

/** `H` then a group named `N`, optional (`?`) or not (`+`). */
type Ending<H extends string, N extends string, M extends "?" | "+", P extends string> =
  IsName<N> extends true ? M extends "?" ? Head<H, never, N, P> : Head<H, N, never, P>
    : Read<P>;

/** The names in `H`, a path without special characters but `:`, and the keys `R`, `O` of its ending. */
type Head<H extends string, R extends string, O extends string, P extends string> = H extends
  Complex ? Read<P>
  : H extends `${string}:${infer T}` ? Names<T, R, O, P>
  : Build<R, O>;

/** The names after each `:`; `T` is the text after the last `:` seen. */
type Names<T extends string, R extends string, O extends string, P extends string> = T extends
  `${infer Name}/${infer Rest}`
  ? IsName<Name> extends true ? Next<Rest, R | Name, O, P> : Mixed<ReadName<T, "">, R, O, P>
  : IsName<T> extends true ? Build<R | T, O>
  : Mixed<ReadName<T, "">, R, O, P>;

/** A name that fixed text other than `/` follows (`/:from-:to`), read a character at a time. */
type Mixed<Read, R extends string, O extends string, P extends string> = Read extends
  [infer Name extends string, infer Rest extends string] ? Next<Rest, R | Name, O, P>
  : Fail;

/** The names after the next `:` of `Rest`. */
type Next<Rest extends string, R extends string, O extends string, P extends string> = Rest extends
  `${string}:${infer U}` ? Names<U, R, O, P> : Build<R, O>;

/** The object type: required keys `R`, optional keys `O`. */
type Build<R extends string, O extends string> = [O] extends [never] ? { [K in R]: string }
  : Flatten<{ [K in R]: string } & { [K in O]?: string }>;

/** One object type from an intersection, keeping `?`. */
type Flatten<T> = { [K in keyof T]: string };

/**
 * Walks `S`, the text after a top-level `/`, a segment at a time: fixed
 * segments and plain `:name` segments in one step, anything else through
 * {@linkcode Chars}. `R`/`O`: required/optional keys so far; `N`: unnamed
 * groups so far (their names are "0", "1"…).
 */
type Walk<S extends string, R extends string, O extends string, N extends 0[]> = S extends
  `${infer Seg}/${infer Rest}`
  ? Seg extends `${string}${Special}${string}` ? Chars<S, R, O, N, true>
  : Walk<Rest, R, O, N>
  : S extends `${string}${Special}${string}` ? Chars<S, R, O, N, true>
  : Build<R, O>;

/**
 * Reads `S` a character at a time, as URLPattern's tokenizer and parser do,
 * back to {@linkcode Walk} after the next top-level `/`. `Slash`: whether the
 * character before is a `/` (the prefix of a group that follows).
 */
type Chars<
  S extends string,
  R extends string,
  O extends string,
  N extends 0[],
  Slash extends boolean,
> = S extends `${infer C}${infer T}` ? (
    C extends "/" ? Walk<T, R, O, N>
      : C extends ":" ? AfterName<ReadName<T, "">, R, O, N, Slash>
      : C extends "(" ? Group<ReadRegexp<T, []>, `${N["length"]}`, R, O, [...N, 0], Slash>
      : C extends "*" ? Group<T, `${N["length"]}`, R, O, [...N, 0], Slash>
      : C extends "{" ? Braces<ReadText<T, false>, R, O, N>
      : C extends "\\" ? T extends `${string}${infer U}` ? Chars<U, R, O, N, false> : Fail
      : C extends "?" | "+" | "}" ? Fail
      : Chars<T, R, O, N, false>
  )
  : Build<R, O>;

/** Reads a group name: `[name, rest]`, or `Fail` (empty, or starting with a digit). */
type ReadName<S extends string, Acc extends string> = S extends `${infer C}${infer T}`
  ? C extends NameChar
    ? Acc extends "" ? C extends Digit ? Fail : ReadName<T, C> : ReadName<T, `${Acc}${C}`>
  : C extends NameEnd ? Acc extends "" ? Fail : [Acc, S]
  : Fail
  : Acc extends "" ? Fail
  : [Acc, ""];

/** After `:name`: an optional regular expression, then the modifier. */
type AfterName<
  Read,
  R extends string,
  O extends string,
  N extends 0[],
  Slash extends boolean,
> = Read extends [infer Name extends string, infer S extends string]
  ? S extends `(${infer T}` ? Group<ReadRegexp<T, []>, Name, R, O, N, Slash>
  : Group<S, Name, R, O, N, Slash>
  : Fail;

/**
 * A top-level group named `Key`, before its modifier (`S`, or `Fail`). It
 * may be absent with `?`, and with `*` when a `/` prefixes it (with `*` and
 * no prefix it matches "" at least).
 */
type Group<
  S,
  Key extends string,
  R extends string,
  O extends string,
  N extends 0[],
  Slash extends boolean,
> = S extends `?${infer T}` ? Chars<T, R, O | Key, N, false>
  : S extends `+${infer T}` ? Chars<T, R | Key, O, N, false>
  : S extends `*${infer T}` ? Slash extends true ? Chars<T, R, O | Key, N, false>
    : Chars<T, R | Key, O, N, false>
  : S extends string ? Chars<S, R | Key, O, N, false>
  : Fail;

/**
 * Reads a custom regular expression after its `(`, as URLPattern's
 * tokenizer does (escapes, nested `(?…)` groups): the rest after its `)`,
 * or `Fail`.
 */
type ReadRegexp<S extends string, Depth extends 0[]> = S extends `${infer C}${infer T}` ? (
    C extends "\\" ? T extends `${string}${infer U}` ? ReadRegexp<U, Depth> : Fail
      : C extends ")" ? Depth extends [0, ...infer D extends 0[]] ? ReadRegexp<T, D> : T
      : C extends "(" ? T extends `?${string}` ? ReadRegexp<T, [0, ...Depth]> : Fail
      : ReadRegexp<T, Depth>
  )
  : Fail;

/**
 * Reads the fixed text inside `{…}`, up to a group, `}` or modifier:
 * `[nonEmpty, rest]`.
 */
type ReadText<S extends string, Some extends boolean> = S extends `${infer C}${infer T}`
  ? C extends ":" | "(" | "*" | "{" | "}" | "?" | "+" ? [Some, S]
  : C extends "\\" ? T extends `${string}${infer U}` ? ReadText<U, true> : Fail
  : ReadText<T, true>
  : [Some, S];

/** `{prefix group suffix}modifier`, after the prefix was read. */
type Braces<Pre, R extends string, O extends string, N extends 0[]> = Pre extends
  [infer P extends boolean, infer S extends string]
  ? S extends `:${infer T}` ? BracesName<ReadName<T, "">, P, R, O, N>
  : S extends `(${infer T}` ? BracesEnd<ReadRegexp<T, []>, P, `${N["length"]}`, R, O, [...N, 0]>
  : S extends `*${infer T}` ? BracesEnd<T, P, `${N["length"]}`, R, O, [...N, 0]>
  : BracesEnd<S, P, never, R, O, N>
  : Fail;

/** `{prefix :name(regexp)? …`: the name read. */
type BracesName<Read, P extends boolean, R extends string, O extends string, N extends 0[]> =
  Read extends [infer Name extends string, infer S extends string]
    ? S extends `(${infer T}` ? BracesEnd<ReadRegexp<T, []>, P, Name, R, O, N>
    : BracesEnd<S, P, Name, R, O, N>
    : Fail;

/** The suffix, `}` and modifier of a `{…}` group named `Key` (`never`: no group). */
type BracesEnd<
  S,
  P extends boolean,
  Key extends string,
  R extends string,
  O extends string,
  N extends 0[],
> = S extends string
  ? ReadText<S, false> extends [infer Q extends boolean, `}${infer T}`]
    ? T extends `?${infer U}` ? Chars<U, R, O | Key, N, false>
    : T extends `+${infer U}` ? Chars<U, R | Key, O, N, false>
    : T extends `*${infer U}` ? [P, Q] extends [false, false] ? Chars<U, R | Key, O, N, false>
      : Chars<U, R, O | Key, N, false>
    : Chars<T, R | Key, O, N, false>
  : Fail
  : Fail;

/** Reads a whole path; `Fail` when it cannot. */
type Read<Path extends string> = Path extends `/${infer S}` ? Walk<S, never, never, []>
  : Chars<Path, never, never, [], false>;

/**
 * The params object type of a URLPattern pathname pattern, as
 * {@linkcode Router} gives it to handlers:
 *
 * - `:name` and `:name(regexp)` give `name: string`; `:name+` too (the
 *   repeated segments as one string, `"a/b"`).
 * - `:name?` gives `name?: string` (the key is absent when the group did not
 *   match), and so does `:name*` after a `/` (`/files/:rest*`).
 * - Unnamed groups, `*` and `(regexp)`, are named `"0"`, `"1"`… in order.
 * - A `{prefix:name suffix}` group takes the modifier after its `}`:
 *   `/books{/:id}?` gives `id?: string`.
 * - A path without groups gives `{}`, so reading a param it does not have
 *   is a type error.
 * - A `string` path, one with group names outside ASCII, or one that is not
 *   a valid pattern gives `Record<string, string>`.
 *
 * @typeParam Path The pattern, as a string literal type.
 *
 * @example
 * ```ts
 * import type { PathParams } from "@sluice/http/server";
 *
 * const user: PathParams<"/users/:id"> = { id: "7" };
 * const book: PathParams<"/books{/:id}?"> = {};
 * const file: PathParams<"/files/*"> = { "0": "a/b.txt" };
 * const post: PathParams<"/posts/:year(\\d+)/:slug"> = { year: "2026", slug: "hi" };
 * // @ts-expect-error: "/users/:id" has no "name"
 * user.name;
 * ```
 */
export type PathParams<Path extends string> = string extends Path ? Record<string, string>
  : Fast<Path> extends infer P extends Record<string, string> ? P
  : Record<string, string>;
