export { deliveryWorkflow, statusQuery, resumeSignal } from './delivery.ts';
export { rateLimiterWorkflow } from './rate-limiter.ts';
export { callSequencerWorkflow } from './call-sequencer.ts';
export { resumeDrainWorkflow } from './resume-drain.ts';
