/**
 * The `Date` field value, formatted once per second.
 *
 * @module
 */

let second = -1;
let formatted = "";

/** The IMF-fixdate of now (RFC 9110 §5.6.7), cached for the current second. */
export function httpDate(now: number = Date.now()): string {
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    formatted = new Date(s * 1000).toUTCString();
  }
  return formatted;
}
