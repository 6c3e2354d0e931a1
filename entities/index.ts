import { AssetKeyword, AssetMarker } from './asset-annotation.ts';
import { Asset, AssetIngestStep, AssetRendition } from './asset.ts';
import { AssetUpload } from './asset-upload.ts';
import { AiUsage } from './ai-usage.ts';
import { AuthEvent } from './auth-event.ts';
import { ClipJob, ClipRender, VideoClipModel, VideoIngest } from './clip-job.ts';
import { Artist, MusicAnalysis, MusicAsset } from './music.ts';
import { Job, JobEvent } from './job.ts';
import { ProbeJob } from './probe-job.ts';
import { RefreshToken } from './refresh-token.ts';
import { Tenant } from './tenant.ts';
import { User } from './user.ts';

export { AssetKeyword, AssetMarker, type IAssetKeyword, type IAssetMarker } from './asset-annotation.ts';
export { Asset, AssetIngestStep, AssetRendition, type IAsset, type IAssetIngestStep, type IAssetRendition } from './asset.ts';
export { AssetUpload, ASSET_UPLOAD_STATUSES, type AssetUploadStatus, type IAssetUpload } from './asset-upload.ts';
export { AiUsage, type IAiUsage } from './ai-usage.ts';
export { Artist, MusicAnalysis, MusicAsset, MUSIC_STATUSES, type IArtist, type IMusicAnalysis, type IMusicAsset, type MusicStatus } from './music.ts';
export { ClipJob, ClipRender, CLIP_RENDER_STATUSES, type ClipRenderStatus, type IClipRender, CLIP_JOB_STATUSES, TERMINAL_CLIP_JOB_STATUSES, VideoClipModel, VideoIngest, type ClipJobStatus, type IClipJob, type IVideoClipModel, type IVideoIngest } from './clip-job.ts';
export { AuthEvent, AUTH_EVENT_TYPES, type AuthEventType, type IAuthEvent } from './auth-event.ts';
export { Job, JobEvent, JOB_STATUSES, TERMINAL_JOB_STATUSES, type IJob, type IJobEvent, type JobStatus } from './job.ts';
export { ProbeJob, PROBE_STATUSES, type IProbeJob, type ProbeStatus } from './probe-job.ts';
export { RefreshToken, type IRefreshToken } from './refresh-token.ts';
export { Tenant, type ITenant } from './tenant.ts';
export { ROLES, User, type IUser, type Role } from './user.ts';

/** Every entity the ORM knows; migrations under ./migrations create their tables. */
export const ENTITIES = [Tenant, User, RefreshToken, AuthEvent, ProbeJob, Job, JobEvent, Asset, AssetRendition, AssetIngestStep, AssetUpload, AssetKeyword, AssetMarker, Artist, MusicAsset, MusicAnalysis, AiUsage, ClipJob, VideoIngest, VideoClipModel, ClipRender];
