/**
 * The process-wide set of secret values. Connectors' secret settings are
 * registered when a pipeline is built; every log line and every error message
 * the CLI or API prints passes through `redactText`.
 */
const secrets = new Set<string>();
let pattern: RegExp | undefined;

/** Values shorter than this are not registered: masking "a" everywhere would mangle output. */
const MIN_SECRET_LENGTH = 4;

export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  // Also mask the URL-encoded form, as it appears inside connection strings.
  const enc = encodeURIComponent(value);
  if (enc !== value) secrets.add(enc);
  pattern = new RegExp(
    [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
}

export function redactText(text: string): string {
  if (pattern === undefined) return text;
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, '***') : text;
}

/** Masks the password in a URL such as postgres://user:pw@host/db. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@\s]+:)[^@\s]*@/g, '$1***@');
}
