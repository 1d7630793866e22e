// Did-you-mean for names a person types: a manifest key, an entry file, a createShell option one edit away from a known one.
import leven from "leven";

/**
 * The one name in `known` that `given` most likely misspells: equal ignoring case, one edit away or two
 * neighbouring letters swapped (`strat` for `start`), or two edits away for names of 8 characters or more.
 * Undefined when none is close, when `given` is itself known, or when two known names are equally close
 * (a guess would mislead).
 */
export function nearMiss(given: string, known: readonly string[]): string | undefined {
  if (known.includes(given)) return undefined;
  const lower = given.toLowerCase();
  const budget = given.length >= 8 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tie = false;
  for (const name of known) {
    const candidate = name.toLowerCase();
    // A swap of neighbouring letters is one slip of the fingers, though Levenshtein counts it as two.
    const distance = isSwap(lower, candidate) ? 1 : leven(lower, candidate);
    if (distance > budget) continue;
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance) {
      tie = true;
    }
  }
  return tie ? undefined : best;
}

/** `Did you mean "x"?` for `given`, or an empty string when no known name is close. */
export function didYouMean(given: string, known: readonly string[]): string {
  const match = nearMiss(given, known);
  return match === undefined ? "" : ` Did you mean "${match}"?`;
}

/** True when `b` is `a` with exactly one pair of neighbouring letters swapped. */
function isSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const first = [...a].findIndex((char, index) => char !== b[index]);
  return (
    first !== -1 &&
    first + 1 < a.length &&
    a[first] === b[first + 1] &&
    a[first + 1] === b[first] &&
    a.slice(first + 2) === b.slice(first + 2)
  );
}
