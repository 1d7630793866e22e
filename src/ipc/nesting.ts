// hangar's one nesting limit (shared by the shell and the page side: no imports) for data it copies or encodes: V8's structured clone and JSON.stringify recurse and
// run out of stack a few thousand levels down with a bare RangeError. Config values deeper than the limit are
// refused; an IPC payload that V8 cannot carry is refused with a sentence naming the limit (docs/config.md, docs/ipc.md).

/** The deepest nesting of arrays and objects hangar accepts in a config value or an IPC payload, in levels. */
export const MAX_NESTING_DEPTH = 1000;

/** "nested deeper than 1,000 levels": the phrase every refusal uses. */
export const NESTING_LIMIT_TEXT = `nested deeper than ${MAX_NESTING_DEPTH.toLocaleString("en-US")} levels`;

/**
 * True when `value` holds arrays or objects more than `limit` levels deep (a bare object or array is level 1).
 * Iterative, so it cannot itself run out of stack; a cycle is not followed (it is not depth: other checks name
 * it), and an object shared at several depths is walked again only when met deeper than before.
 */
export function nestedDeeperThan(value: unknown, limit: number = MAX_NESTING_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return false;
  const deepestSeen = new Map<object, number>();
  const onPath = new Set<object>();
  // Each entry enters a node at a depth, or (exit) leaves it: the path is what a cycle is checked against.
  const stack: Array<{ node: object; depth: number; exit: boolean }> = [
    { node: value, depth: 1, exit: false },
  ];
  while (stack.length > 0) {
    const { node, depth, exit } = stack.pop()!;
    if (exit) {
      onPath.delete(node);
      continue;
    }
    if (depth > limit) return true;
    if (onPath.has(node) || (deepestSeen.get(node) ?? 0) >= depth) continue;
    deepestSeen.set(node, depth);
    onPath.add(node);
    stack.push({ node, depth, exit: true });
    const children = Array.isArray(node) ? node : Object.values(node);
    for (let i = 0; i < children.length; i++) {
      const child: unknown = children[i];
      if (typeof child === "object" && child !== null)
        stack.push({ node: child, depth: depth + 1, exit: false });
    }
  }
  return false;
}
