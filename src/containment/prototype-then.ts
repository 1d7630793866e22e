// A `then` that in-process plugin code put on a built-in prototype turns every object into a thenable: each promise
// resolved with an object (a snapshot, a hook's result) calls it instead of settling, so hangar's own shutdown would
// end in a stranger's TypeError or never end. The shell takes it off before it stops (docs/lifecycle.md).

/** The prototypes whose own `then` makes every ordinary object, array or function a thenable. */
const PROTOTYPES: ReadonlyArray<readonly [string, object]> = [
  ["Object.prototype", Object.prototype],
  ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype],
];

/** What {@link removePrototypeThen} found: the prototypes it cleaned, and those whose `then` it could not remove. */
export interface PrototypeThen {
  removed: string[];
  stuck: string[];
}

/**
 * Removes an own `then` from Object.prototype, Array.prototype and Function.prototype: deleted when configurable,
 * else set to undefined when writable (an object whose `then` is not a function is no thenable), else left and
 * named in `stuck`. Returns null when there was none (the usual case: three property lookups).
 */
export function removePrototypeThen(): PrototypeThen | null {
  let found: PrototypeThen | null = null;
  for (const [name, prototype] of PROTOTYPES) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, "then");
    if (!descriptor) continue;
    found ??= { removed: [], stuck: [] };
    if (descriptor.configurable) {
      Reflect.deleteProperty(prototype, "then");
      found.removed.push(name);
    } else if (descriptor.writable) {
      Reflect.set(prototype, "then", undefined);
      found.removed.push(name);
    } else found.stuck.push(name);
  }
  return found;
}

/** The shell's warning for what {@link removePrototypeThen} found. */
export function prototypeThenWarning({ removed, stuck }: PrototypeThen): string {
  const all = [...removed, ...stuck].map((name) => `${name}.then`).join(" and ");
  return (
    `Plugin code set ${all} (in-process plugins share the shell's globals): every promise resolved with an object ` +
    "would call it instead of settling. " +
    (removed.length > 0 ? "hangar removed it before stopping. " : "") +
    (stuck.length > 0 ? "It cannot be removed (non-configurable, read-only): the shutdown may fail. " : "") +
    "Fix: never add `then` to a built-in prototype; a plugin that patches globals runs safely in a worker " +
    '(plugin.json `"background": { "isolation": "worker" }`).'
  );
}
