import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPartitionSql, monthPartition, partitionsAhead } from '../../lib/db/asset-partitions.ts';

describe('asset partitions', () => {
  it('names a month and bounds it [first day, first day of the next month)', () => {
    assert.deepEqual(monthPartition(new Date('2026-11-21T23:59:59Z')), { name: 'assets_y2026m11', from: '2026-11-01', to: '2026-12-01' });
    assert.deepEqual(monthPartition(new Date('2026-12-31T00:00:00Z')), { name: 'assets_y2026m12', from: '2026-12-01', to: '2027-01-01' });
  });
  it('lists this month and the months ahead, across a year end', () => {
    assert.deepEqual(partitionsAhead(new Date('2026-11-15T00:00:00Z'), 3).map((p) => p.name), ['assets_y2026m11', 'assets_y2026m12', 'assets_y2027m01', 'assets_y2027m02']);
  });
  it('builds idempotent DDL and refuses anything that is not a month partition', () => {
    assert.equal(createPartitionSql(monthPartition(new Date('2027-01-05Z'))), "create table if not exists assets_y2027m01 partition of assets for values from ('2027-01-01') to ('2027-02-01')");
    assert.throws(() => createPartitionSql({ name: 'assets; drop table users', from: '2027-01-01', to: '2027-02-01' }), RangeError);
    assert.throws(() => createPartitionSql({ name: 'assets_y2027m01', from: "2027-01-01'); --", to: '2027-02-01' }), RangeError);
  });
});
