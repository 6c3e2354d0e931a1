/** planUpload: one PUT up to the threshold, else parts S3 accepts (≥ 5 MiB but the last, ≤ 10 000 of them). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_PART_BYTES,
  MAX_PART_BYTES,
  MAX_UPLOAD_PARTS,
  MIN_PART_BYTES,
  MULTIPART_THRESHOLD_BYTES,
  planUpload,
  type UploadPlan,
} from '../../api/routes/asset-uploads.ts';

const MiB = 1024 * 1024;

/** The invariants every plan keeps, whatever the size. */
function checkPlan(size: number, plan: UploadPlan): void {
  assert.equal(plan.parts.length, plan.partCount);
  assert.ok(plan.partCount >= 1 && plan.partCount <= MAX_UPLOAD_PARTS);
  assert.equal(plan.parts.reduce((sum, p) => sum + p.sizeBytes, 0), size);
  plan.parts.forEach((p, i) => {
    assert.equal(p.partNumber, i + 1);
    assert.ok(p.sizeBytes > 0 && p.sizeBytes <= MAX_PART_BYTES);
    if (i < plan.partCount - 1) {
      assert.equal(p.sizeBytes, plan.partSize);
      assert.ok(p.sizeBytes >= MIN_PART_BYTES);
    }
  });
}

describe('planUpload', () => {
  it('uses the issue constants: 64 MiB threshold and parts, 5 MiB minimum', () => {
    assert.equal(MULTIPART_THRESHOLD_BYTES, 64 * MiB);
    assert.equal(DEFAULT_PART_BYTES, 64 * MiB);
    assert.equal(MIN_PART_BYTES, 5 * MiB);
  });

  it('is one PUT up to and including the threshold', () => {
    for (const size of [1, 1000, 5 * MiB, MULTIPART_THRESHOLD_BYTES]) {
      const plan = planUpload(size);
      assert.equal(plan.multipart, false, String(size));
      assert.deepEqual(plan.parts, [{ partNumber: 1, sizeBytes: size }]);
      checkPlan(size, plan);
    }
  });

  it('splits a file just over the threshold into a full part and a short one', () => {
    const size = MULTIPART_THRESHOLD_BYTES + 1;
    const plan = planUpload(size);
    assert.equal(plan.multipart, true);
    assert.equal(plan.partSize, 64 * MiB);
    assert.deepEqual(plan.parts, [{ partNumber: 1, sizeBytes: 64 * MiB }, { partNumber: 2, sizeBytes: 1 }]);
    checkPlan(size, plan);
  });

  it('has no empty last part when the size is a multiple of the part size', () => {
    const plan = planUpload(3 * 64 * MiB);
    assert.equal(plan.partCount, 3);
    assert.deepEqual(plan.parts.map((p) => p.sizeBytes), [64 * MiB, 64 * MiB, 64 * MiB]);
  });

  it('70 MB: two parts of 64 MiB and the rest', () => {
    const plan = planUpload(70_000_000);
    assert.deepEqual(plan.parts.map((p) => p.sizeBytes), [64 * MiB, 70_000_000 - 64 * MiB]);
  });

  it('grows the part size in whole MiB so a huge file needs at most 10 000 parts', () => {
    const atLimit = 10_000 * 64 * MiB;
    assert.equal(planUpload(atLimit).partCount, 10_000);
    assert.equal(planUpload(atLimit).partSize, 64 * MiB);
    for (const size of [atLimit + 1, 1024 * 1024 * MiB /* 1 TiB */, 40 * 1024 * 1024 * MiB]) {
      const plan = planUpload(size);
      assert.ok(plan.partSize > 64 * MiB && plan.partSize % MiB === 0, String(size));
      checkPlan(size, plan);
    }
  });

  it('takes another threshold and part size (tests: 5 MiB parts)', () => {
    const plan = planUpload(12 * MiB + 5, { threshold: 6 * MiB, partSize: 5 * MiB });
    assert.deepEqual(plan.parts.map((p) => p.sizeBytes), [5 * MiB, 5 * MiB, 2 * MiB + 5]);
    assert.equal(planUpload(6 * MiB, { threshold: 6 * MiB, partSize: 5 * MiB }).multipart, false);
  });

  it('refuses what S3 cannot take', () => {
    for (const size of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) assert.throws(() => planUpload(size), RangeError, String(size));
    for (const partSize of [MIN_PART_BYTES - 1, MAX_PART_BYTES + 1]) assert.throws(() => planUpload(100 * MiB, { partSize }), RangeError);
    assert.throws(() => planUpload(10_000 * MAX_PART_BYTES + 1), RangeError);
    assert.throws(() => planUpload(MAX_PART_BYTES + 1, { threshold: 2 * MAX_PART_BYTES }), RangeError);
  });
});
