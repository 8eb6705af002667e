/**
 * Wake-ups for a reader that waits on a stream: one that comes while the reader is busy (reading the
 * store) is kept, so its next wait answers at once instead of missing it.
 */
export function wakeSignal() {
  let pending = false;
  let resolveNext: ((woken: boolean) => void) | undefined;
  return {
    poke: () => {
      pending = true;
      resolveNext?.(true);
    },
    /** Resolves true on a wake-up (also one that came before), false after `ms` without one. */
    next: (ms: number) =>
      new Promise<boolean>((resolve) => {
        const done = (woken: boolean) => {
          clearTimeout(timer);
          resolveNext = undefined;
          pending = false;
          resolve(woken);
        };
        const timer = setTimeout(() => done(false), ms);
        if (pending) return done(true);
        resolveNext = done;
      }),
  };
}
