// Messages between the type-check thread and its host (type-check-worker.ts, type-check-thread.ts).
import type { ValidationResult } from './types.ts';

export interface CheckRequest {
  id: number;
  source: string;
}

export type CheckerMessage = { t: 'ready' } | { t: 'result'; id: number; result: ValidationResult };
