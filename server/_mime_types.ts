/**
 * A compact table of media types by file extension, for file responses.
 *
 * @module
 */

const TYPES: Record<string, string> = {
  // text
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  txt: "text/plain",
  text: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  xml: "application/xml",
  ics: "text/calendar",
  vtt: "text/vtt",
  json: "application/json",
  map: "application/json",
  jsonld: "application/ld+json",
  webmanifest: "application/manifest+json",
  svg: "image/svg+xml",
  // images
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  ico: "image/vnd.microsoft.icon",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  // fonts
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  // audio and video
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  m4a: "audio/mp4",
  aac: "audio/aac",
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  ogv: "video/ogg",
  mov: "video/quicktime",
  // applications and archives
  wasm: "application/wasm",
  pdf: "application/pdf",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  br: "application/x-brotli",
  "7z": "application/x-7z-compressed",
  bin: "application/octet-stream",
};

/** Types that are text without being `text/*`, so get a charset too. */
const TEXTUAL = new Set([
  "application/json",
  "application/ld+json",
  "application/manifest+json",
  "application/xml",
  "image/svg+xml",
]);

/**
 * The `Content-Type` for a file name, by its extension (case-insensitive):
 * text types get `; charset=utf-8`; unknown extensions give
 * `application/octet-stream`.
 */
export function contentTypeFor(path: string): string {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  const type = Object.hasOwn(TYPES, ext) ? TYPES[ext] : undefined;
  if (type === undefined) return "application/octet-stream";
  return type.startsWith("text/") || TEXTUAL.has(type) ? `${type}; charset=utf-8` : type;
}
