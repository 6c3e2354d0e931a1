/** `npm run build`: bundles the workflows ahead of time into dist/workflow-bundle.js (production). */
import { mkdir, writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../workers/factory.ts';

const outPath = new URL('../dist/workflow-bundle.js', import.meta.url);
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
await mkdir(new URL('../dist/', import.meta.url), { recursive: true });
await writeFile(outPath, code);
console.log(`[build] workflow bundle written to dist/workflow-bundle.js (${(code.length / 1024).toFixed(0)} KiB); set WORKFLOW_BUNDLE_PATH to use it`);
