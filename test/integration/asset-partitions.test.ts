/**
 * The monthly partitions of `assets` on real PostgreSQL and Temporal: the Schedule
 * `asset-partitions` runs maintainAssetPartitions, which creates the partitions ahead of time,
 * and a row dated next month lands in next month's partition.
 */
import '../support/quiet-runtime.ts';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ensurePartitions, monthPartition, partitionsAhead } from '../../lib/db/asset-partitions.ts';
import { assetPartitionsSchedule, ensureSchedule } from '../../lib/temporal/schedules.ts';
import { registerTenant, type Session } from '../support/accounts.ts';
import { eventually, startTestStack, type TestStack } from '../support/stack.ts';

describe('asset partitions', { timeout: 120_000 }, () => {
  let stack: TestStack;
  let owner: Session;
  before(async () => {
    stack = await startTestStack({ name: 'partitions' });
    owner = await registerTenant(stack.baseUrl);
  });
  after(async () => {
    await stack?.stop();
  });

  const partitionsOfAssets = async () =>
    ((await stack.orm.em.fork().getConnection().execute(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'assets'`,
    )) as Array<{ name: string }>).map((r) => r.name);

  it('the schedule runs maintainAssetPartitions, which creates the months ahead', async () => {
    const em = stack.orm.em.fork();
    // Drop a future partition the migration made, so the scheduled run has something to create.
    const fourthMonth = partitionsAhead(new Date(), 3).at(-1)!;
    await em.getConnection().execute(`drop table if exists ${fourthMonth.name}`);
    assert.equal((await partitionsOfAssets()).includes(fourthMonth.name), false);

    const scheduleId = `asset-partitions-test-${process.pid}`;
    const options = assetPartitionsSchedule(stack.config.temporal.taskQueue, scheduleId);
    assert.equal(await ensureSchedule(stack.temporal, options), 'created');
    assert.equal(await ensureSchedule(stack.temporal, options), 'updated', 'ensuring twice is harmless');
    const description = await stack.temporal.schedule.getHandle(scheduleId).describe();
    assert.deepEqual(description.spec.calendars?.[0]?.hour, [{ start: 3, end: 3, step: 1 }]);

    // triggerImmediately started one run on creation (its id: the action's id plus a timestamp).
    const started = await eventually(async () => {
      const info = (await stack.temporal.schedule.getHandle(scheduleId).describe()).info;
      const action = info.recentActions[0]?.action ?? info.runningActions[0];
      return action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
    }, { timeoutMs: 60_000, what: 'the scheduled run to start' });
    assert.match(started, new RegExp(`^${scheduleId}-run-`));
    const result = (await stack.temporal.workflow.getHandle(started).result()) as string[];
    assert.deepEqual(result, [fourthMonth.name]);
    assert.ok((await partitionsOfAssets()).includes(fourthMonth.name));
    await stack.temporal.schedule.getHandle(scheduleId).delete();
  });

  it('creating partitions is idempotent', async () => {
    assert.deepEqual(await ensurePartitions(stack.orm.em.fork(), partitionsAhead(new Date(), 3)), []);
  });

  it('a row dated next month lands in next month\'s partition', async () => {
    const now = new Date();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 10));
    const id = randomUUID();
    const connection = stack.orm.em.fork().getConnection();
    await connection.execute(
      `insert into assets (id, tenant_id, title, type, original_filename, size_bytes, sha256, created_by, partition_date)
       values (?, ?, 'next month', 'video', 'a.mp4', 1, ?, ?, ?)`,
      [id, owner.tenantId, 'a'.repeat(64), owner.userId, nextMonth.toISOString().slice(0, 10)],
    );
    const [row] = (await connection.execute('select tableoid::regclass::text as partition from assets where id = ?', [id])) as Array<{ partition: string }>;
    assert.equal(row!.partition, monthPartition(nextMonth).name);
  });

  it('a row dated past the created partitions is refused rather than lost', async () => {
    const connection = stack.orm.em.fork().getConnection();
    await assert.rejects(
      connection.execute(
        `insert into assets (id, tenant_id, title, type, original_filename, size_bytes, sha256, created_by, partition_date)
         values (?, ?, 'far future', 'video', 'a.mp4', 1, ?, ?, '2199-01-01')`,
        [randomUUID(), owner.tenantId, 'a'.repeat(64), owner.userId],
      ),
      /no partition of relation "assets" found/,
    );
  });
});
