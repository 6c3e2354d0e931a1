import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeTrackInClip } from '../../lib/clips/plan-music.ts';

const beats = [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000];
const downbeats = [500, 2500, 4500];

describe('placeTrackInClip', () => {
  it('keeps the synced position: track time at the clip start = start − offset (negative when the track starts inside the clip)', () => {
    const a = placeTrackInClip({ startMs: 10_000, endMs: 20_000, sync: { found: true, offsetMs: 7_500 }, downbeatsMs: downbeats, beatsMs: beats, impactsMs: [] });
    assert.deepEqual([a.trackStartMs, a.synced], [2_500, true]);
    const b = placeTrackInClip({ startMs: 2_000, endMs: 12_000, sync: { found: true, offsetMs: 7_500 }, downbeatsMs: downbeats, beatsMs: beats, impactsMs: [] });
    assert.equal(b.trackStartMs, -5_500);
  });

  it('without sync, lands the first downbeat at or after the first impact on that impact', () => {
    // Impact 1.2 s into the clip: the downbeat at 2.5 s is heard at 1.2 s → track starts at 1.3 s.
    const p = placeTrackInClip({ startMs: 10_000, endMs: 20_000, sync: { found: false, offsetMs: null }, downbeatsMs: downbeats, beatsMs: beats, impactsMs: [9_000, 11_200, 15_000] });
    assert.equal(p.synced, false);
    assert.equal(p.trackStartMs, 1_300);
    assert.match(p.reason, /downbeat of the track lands on the clip's first impact at 1\.20 s/);
  });

  it('falls back to beats, then to the track start; never starts before the track', () => {
    const onBeats = placeTrackInClip({ startMs: 0, endMs: 10_000, sync: { found: false, offsetMs: null }, downbeatsMs: [], beatsMs: beats, impactsMs: [800] });
    assert.equal(onBeats.trackStartMs, 200); // beat 1.0 s heard at 0.8 s
    const bare = placeTrackInClip({ startMs: 0, endMs: 10_000, sync: { found: false, offsetMs: null }, downbeatsMs: [], beatsMs: [], impactsMs: [3_000] });
    assert.equal(bare.trackStartMs, 0);
    const late = placeTrackInClip({ startMs: 0, endMs: 10_000, sync: { found: false, offsetMs: null }, downbeatsMs: downbeats, beatsMs: beats, impactsMs: [9_000] });
    // No downbeat at or after 9 s: the first downbeat is used, clamped so the track never starts early.
    assert.equal(late.trackStartMs, 0);
    assert.match(late.reason, /no downbeat late enough to meet the impact at 9\.00 s/);
    const noImpact = placeTrackInClip({ startMs: 0, endMs: 10_000, sync: { found: false, offsetMs: null }, downbeatsMs: downbeats, beatsMs: beats, impactsMs: [] });
    assert.equal(noImpact.trackStartMs, 500);
    assert.match(noImpact.reason, /no impact in the clip/);
  });
});
