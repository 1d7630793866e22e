// Goals of issue 13, printed next to the figure they judge: "goal ≤ 1.5×: met" or "goal ≤ 1.5×: NOT MET".

/** `goal ≤ limit unit: met` when `value <= limit` (or `>=` for `at least`), `NOT MET` otherwise. */
export function goal(
  value: number,
  limit: number,
  unit: string,
  direction: "at most" | "at least" = "at most",
): string {
  const met = direction === "at most" ? value <= limit : value >= limit;
  return `goal ${direction === "at most" ? "≤" : "≥"} ${limit}${unit}: ${met ? "met" : "NOT MET"}`;
}
