/** ingestAsset (id `ingest-<assetId>`) — being built. */
import type { IngestAssetInput, IngestAssetState } from './ingest-asset.types.ts';

export async function ingestAsset(input: IngestAssetInput): Promise<IngestAssetState> {
  throw new Error(`ingestAsset is not built yet (${input.assetId})`);
}
