export { deliveryWorkflow, statusQuery, resumeSignal } from './delivery.ts';
