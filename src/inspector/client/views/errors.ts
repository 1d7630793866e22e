// The errors view: every failure up to the viewed moment, with its phase, code, message and stack.
import { clock, h, replaceChildren } from "../dom.js";
import type { ErrorEntry } from "../session.js";

/**
 * Draws `errors` (given oldest first, as they happened) into `container` newest first: someone looking at a
 * failure wants the latest one on top. `count` shows how many there are.
 */
export function renderErrors(
  container: HTMLElement,
  count: HTMLElement,
  errors: readonly ErrorEntry[],
  onOpen: (seq: number) => void,
): void {
  count.textContent = errors.length === 0 ? "" : String(errors.length);
  if (errors.length === 0) {
    replaceChildren(container, h("p", { class: "empty" }, "No errors."));
    return;
  }
  replaceChildren(
    container,
    h(
      "ol",
      { class: "errors" },
      ...[...errors].reverse().map((error) => {
        const item = h(
          "li",
          { class: "error", "data-actor": error.actorId, "data-code": error.code, "data-seq": error.seq },
          h(
            "div",
            { class: "head" },
            h("span", { class: "time" }, clock(error.at)),
            h("span", { class: "who" }, error.actorId),
            h("span", { class: "badge phase" }, error.phase),
            error.code && h("code", { class: "code" }, error.code),
          ),
          h("p", { class: "message" }, error.message),
          error.stack &&
            h("details", {}, h("summary", {}, "stack"), h("pre", { class: "stack" }, error.stack)),
        );
        item.querySelector(".head")?.addEventListener("click", () => onOpen(error.seq));
        return item;
      }),
    ),
  );
}
