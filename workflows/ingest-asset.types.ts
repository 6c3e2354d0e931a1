/** The ingestAsset workflow's input, state and shared definitions (imported by the API and tests too). */
import { defineQuery } from '@temporalio/workflow';
import type { AssetStatus, AssetType, IngestStep, StepStatus } from '../lib/assets/catalogue.ts';

export interface IngestAssetInput {
  assetId: string;
  tenantId: string;
  ownerId: string;
  /** The type guessed at upload (extension and sniff); `validate` settles it from the content. */
  type: AssetType;
  /** The original in the `originals` bucket. */
  originalKey: string;
  filename: string;
  sizeBytes: number;
  sha256: string;
  /** The asset's creation time (ISO): the year and month of every rendition's key. */
  createdAt: string;
  /** Steps to run again (reprocess); absent: the whole ingest. */
  steps?: IngestStep[];
  heavyTaskQueue: string;
  /** ffmpeg's limit per rendering attempt. */
  renderTimeoutMinutes: number;
  limits: { maxImagePixels: number; maxDurationMs: number };
  traceparent?: string;
}

export interface IngestStepState {
  status: StepStatus;
  progress: number;
  error: { code: string; message: string } | null;
}

export interface IngestAssetState {
  status: AssetStatus;
  type: AssetType;
  steps: Partial<Record<IngestStep, IngestStepState>>;
  error: { code: string; message: string } | null;
}

export const ingestAssetStateQuery = defineQuery<IngestAssetState>('ingestAssetState');
