// Did-you-mean for names a person types: a manifest key, an entry file, a createShell option one edit away from a known one.
import leven from "leven";

/**
 * The one name in `known` that `given` most likely misspells: equal ignoring case, or one edit away (two for
 * names of 8 characters or more, so a swapped pair of letters counts). Undefined when none is close, when
 * `given` is itself known, or when two known names are equally close (a guess would mislead).
 */
export function nearMiss(given: string, known: readonly string[]): string | undefined {
  if (known.includes(given)) return undefined;
  const lower = given.toLowerCase();
  const budget = given.length >= 8 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tie = false;
  for (const name of known) {
    const distance = leven(lower, name.toLowerCase());
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
