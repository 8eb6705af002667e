import type { temporal } from '@temporalio/proto';
import type { DeliveryActivities } from './index.ts';

/** The attempt activity's type name, as histories record it; renaming the activity fails to compile here. */
export const ATTEMPT_ACTIVITY = 'attemptDelivery' satisfies keyof DeliveryActivities;

/** Whether a history event schedules a delivery attempt. */
export const schedulesAttempt = (e: temporal.api.history.v1.IHistoryEvent): boolean =>
  e.activityTaskScheduledEventAttributes?.activityType?.name === ATTEMPT_ACTIVITY;
