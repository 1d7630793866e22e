// The one redactor: every secret the shell has held this run is replaced by `[redacted]` wherever text leaves
// it (log lines, status, CLI output, the inspector, exported sessions).

/** What replaces a secret. */
export const REDACTED = "[redacted]";

/**
 * Replaces every occurrence of each secret in `text`, raw and JSON-escaped (once and twice, as in a JSON string
 * inside JSON), longest first so a secret that contains another is replaced whole. Empty secrets are ignored.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== "string" || secret.length === 0) continue;
    let form = secret;
    for (let depth = 0; depth < 3; depth++) {
      forms.add(form);
      form = JSON.stringify(form).slice(1, -1);
    }
  }
  if (forms.size === 0) return text;
  let out = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    if (out.includes(form)) out = out.replaceAll(form, REDACTED);
  }
  return out;
}

/**
 * A copy of plain JSON-like data (status objects, errors' messages) with every string redacted; objects and
 * arrays that needed no change are returned as they are.
 */
export function redactData<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const visit = (input: unknown): unknown => {
    if (typeof input === "string") return redactSecrets(input, secrets);
    if (typeof input !== "object" || input === null) return input;
    if (Array.isArray(input)) {
      let changed = false;
      const copy = input.map((item) => {
        const next = visit(item);
        if (next !== item) changed = true;
        return next;
      });
      return changed ? copy : input;
    }
    const proto = Object.getPrototypeOf(input);
    if (proto !== Object.prototype && proto !== null) return input;
    let copy: Record<string, unknown> | null = null;
    for (const [key, item] of Object.entries(input)) {
      const next = visit(item);
      if (next !== item) {
        copy ??= { ...(input as Record<string, unknown>) };
        copy[key] = next;
      }
    }
    return copy ?? input;
  };
  return visit(value) as T;
}

/** Every secret held this run. Once added, a secret stays: text quoting an old auth token is still hidden. */
export interface SecretRegistry {
  /** Remembers `secret` for the rest of the run; null, undefined and "" are ignored. */
  add(secret: string | null | undefined): void;
  /** The secrets held so far, longest first. */
  list(): readonly string[];
  /** `text` with every secret replaced by `[redacted]`. */
  redact(text: string): string;
  /** Plain data with every string in it redacted (see {@link redactData}). */
  redactData<T>(value: T): T;
}

export function createSecretRegistry(initial: Iterable<string | null | undefined> = []): SecretRegistry {
  const held = new Set<string>();
  let sorted: readonly string[] = [];
  const registry: SecretRegistry = {
    add(secret) {
      if (typeof secret !== "string" || secret.length === 0 || held.has(secret)) return;
      held.add(secret);
      sorted = [...held].sort((a, b) => b.length - a.length);
    },
    list: () => sorted,
    redact: (text) => redactSecrets(text, sorted),
    redactData: (value) => redactData(value, sorted),
  };
  for (const secret of initial) registry.add(secret);
  return registry;
}
