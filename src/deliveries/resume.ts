import type { Client } from '@temporalio/client';
import { resumeAgainSignal, resumeDrainId, resumeDrainWorkflow } from '../../workflows/resume-drain.ts';

export interface ResumeDrain {
  /**
   * Releases the deliveries held by a resumed destination, oldest first, one at a time, through the
   * destination's drain workflow (workflows/resume-drain.ts): started if idle, told to list the
   * backlog again if already draining. Answers once Temporal has the resume; the drain runs on in the
   * workers, whatever becomes of this process.
   */
  resumeHeld(accountId: string, destinationId: string): Promise<{ workflowId: string; runId: string }>;
}

export function createResumeDrain(deps: { client: Client; taskQueue: string }): ResumeDrain {
  return {
    async resumeHeld(accountId, destinationId) {
      const workflowId = resumeDrainId(destinationId);
      const handle = await deps.client.workflow.signalWithStart(resumeDrainWorkflow, {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [{ accountId, destinationId }],
        signal: resumeAgainSignal,
      });
      return { workflowId, runId: handle.signaledRunId };
    },
  };
}
