import { allHandlersFinished, condition, getExternalWorkflowHandle } from '@temporalio/workflow';
import type { GateMessage } from './types.ts';
import { gateSignal } from './gate-signals.ts';

// What both gate workflows (rate-limiter.ts, call-sequencer.ts) keep besides their queue. Neither
// helper emits a command of its own: the signal is the one the gate sent before they existed, so
// histories recorded before them replay.

/**
 * The last `limit` keys a gate saw, oldest first: a repeated request (a producer's retry, a re-sent
 * start) is recognised and ignored. Carried across continue-as-new as `list`.
 */
export class RecentKeys {
  private readonly order: string[];
  private readonly set: Set<string>;

  constructor(
    private readonly limit: number,
    carried: readonly string[] = [],
  ) {
    this.order = [...carried];
    this.set = new Set(carried);
  }

  has(key: string): boolean {
    return this.set.has(key);
  }

  add(key: string): void {
    if (this.set.has(key)) return;
    this.set.add(key);
    this.order.push(key);
    if (this.order.length > this.limit) this.set.delete(this.order.shift()!);
  }

  get size(): number {
    return this.order.length;
  }

  /** The keys to carry into the next run. */
  get list(): string[] {
    return this.order;
  }
}

/**
 * The gate → delivery signals not yet answered. A run must see them through before it continues as
 * new or completes: a signal still in flight would be lost with the run.
 */
export class GateSignals {
  private readonly pending = new Set<Promise<boolean>>();

  /** Resolves true once delivered, false when the delivery no longer runs (it ended meanwhile). */
  send(deliveryId: string, message: GateMessage): Promise<boolean> {
    const p = getExternalWorkflowHandle(deliveryId)
      .signal(gateSignal, message)
      .then(
        () => true,
        () => false,
      );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Waits for every signal sent, and those its answers cause, and for the signal handlers to finish. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await condition(allHandlersFinished);
  }
}
