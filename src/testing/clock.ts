// A clock for the test shell's actors: real timers, plus a way to make the newest pending timer fire now,
// so a test can make a plugin's hook time out without waiting for its limit.
import type { ActorClock } from "./shell-hooks.js";

interface Timer {
  handle: NodeJS.Timeout;
  fire: () => void;
}

/** Real timers that can also be fired early. */
export class FastForwardClock implements ActorClock {
  readonly #timers = new Map<number, Timer>();
  #nextId = 1;

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id = this.#nextId++;
    const fire = () => {
      this.#timers.delete(id);
      fn();
    };
    this.#timers.set(id, { handle: setTimeout(fire, timeout), fire });
    return id;
  }

  clearTimeout(id: number): void {
    const timer = this.#timers.get(id);
    if (!timer) return;
    clearTimeout(timer.handle);
    this.#timers.delete(id);
  }

  /**
   * Fires the most recently set timer now. Given to one plugin's actor only (ShellTestHooks.pluginClock),
   * while that plugin is in a hook this is the hook's own timeout.
   * @returns false when no timer is pending.
   */
  fireLatest(): boolean {
    const id = [...this.#timers.keys()].at(-1);
    if (id === undefined) return false;
    const timer = this.#timers.get(id)!;
    clearTimeout(timer.handle);
    timer.fire();
    return true;
  }
}
