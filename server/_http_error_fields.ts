/**
 * Field values the error subclasses set: checked for control characters
 * (no header injection), `Location` percent-encoded, `Retry-After` as
 * seconds or an HTTP-date.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
/** A field token (RFC 9110 §5.6.2). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A field value a caller gives: a string without control characters. */
export function fieldValue(what: string, value: string): string {
  if (typeof value !== "string" || CONTROL.test(value)) {
    throw new TypeError(
      `Cannot set ${what} to ${JSON.stringify(value)}: not a string without control characters`,
    );
  }
  return value;
}

/** A `Location` value: spaces and non-ASCII percent-encoded, controls refused. */
export function locationValue(location: string | URL): string {
  const value = location instanceof URL ? location.href : location;
  if (typeof value !== "string" || value === "" || CONTROL.test(value)) {
    throw new TypeError(
      `Cannot redirect to ${JSON.stringify(value)}: not a non-empty URL without control characters`,
    );
  }
  try {
    return value.replace(/[^\x21-\x7e]+/g, encodeURIComponent);
  } catch {
    throw new TypeError(`Cannot redirect to ${JSON.stringify(value)}: it holds a lone surrogate`);
  }
}

/** A `Retry-After` value: delay seconds or an HTTP-date. */
export function retryAfterValue(retryAfter: number | Date): string {
  if (retryAfter instanceof Date) {
    if (Number.isNaN(retryAfter.getTime())) {
      throw new RangeError("Cannot set Retry-After to an invalid Date");
    }
    return retryAfter.toUTCString();
  }
  if (!Number.isSafeInteger(retryAfter) || retryAfter < 0) {
    throw new RangeError(
      `Cannot set Retry-After to ${retryAfter}: not a non-negative integer of seconds`,
    );
  }
  return `${retryAfter}`;
}
