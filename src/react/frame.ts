// Coalesces work to at most once per animation frame, so a burst of pushes costs one React render.

/** Runs a callback at the next frame; requesting again before it runs changes nothing. */
export interface FrameTask {
  request(): void;
  cancel(): void;
}

/** A hidden tab gets no animation frames: a timer bounds how long pushes can pile up there. */
const HIDDEN_TAB_FALLBACK_MS = 250;
/** Outside a browser (server rendering, tests in Node) a frame is a 60 Hz tick. */
const FRAME_MS = 16;

export function frameTask(run: () => void): FrameTask {
  const raf = (globalThis as { requestAnimationFrame?: (callback: () => void) => number })
    .requestAnimationFrame;
  const caf = (globalThis as { cancelAnimationFrame?: (handle: number) => void }).cancelAnimationFrame;
  let frame: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let requested = false;

  const clear = (): void => {
    if (frame !== undefined) caf?.(frame);
    clearTimeout(timer);
    frame = undefined;
    timer = undefined;
  };
  const fire = (): void => {
    if (!requested) return;
    requested = false;
    clear();
    run();
  };

  return {
    request() {
      if (requested) return;
      requested = true;
      if (typeof raf === "function") {
        frame = raf(fire);
        timer = setTimeout(fire, HIDDEN_TAB_FALLBACK_MS);
      } else {
        timer = setTimeout(fire, FRAME_MS);
      }
    },
    cancel() {
      requested = false;
      clear();
    },
  };
}
