import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../../src/runtime.ts';

const quiet = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never;

/** Writes a prebuilt workflow bundle (VOICEOI_WORKFLOW_BUNDLE) and returns its path. */
export async function buildBundle(file: string, interceptorModules: string[] = []): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: interceptorModules, logger: quiet });
  writeFileSync(file, code);
  return file;
}

export const transformAsActivityModule = new URL('../variants/transform-as-activity.ts', import.meta.url).pathname;
export const attemptsAsLocalActivitiesModule = new URL('../variants/attempts-as-local-activities.ts', import.meta.url).pathname;
