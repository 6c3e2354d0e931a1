/**
 * `assets` is partitioned by RANGE (partition_date), one partition per month named
 * `assets_yYYYYmMM`. Pure naming/bounds helpers and the idempotent DDL that creates them.
 */
import type { EntityManager } from '@mikro-orm/core';

export interface MonthPartition {
  name: string;
  /** Inclusive lower bound, `YYYY-MM-01`. */
  from: string;
  /** Exclusive upper bound, the first day of the next month. */
  to: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The partition holding `date` (UTC month). */
export function monthPartition(date: Date): MonthPartition {
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const next = new Date(Date.UTC(y, m + 1, 1));
  return {
    name: `assets_y${y}m${pad(m + 1)}`,
    from: `${y}-${pad(m + 1)}-01`,
    to: `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-01`,
  };
}

/** The partitions of the month of `from` and the `monthsAhead` months after it. */
export function partitionsAhead(from: Date, monthsAhead: number): MonthPartition[] {
  return Array.from({ length: monthsAhead + 1 }, (_, i) => monthPartition(new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + i, 1))));
}

export function createPartitionSql(p: MonthPartition): string {
  if (!/^assets_y\d{4}m\d{2}$/.test(p.name) || !/^\d{4}-\d{2}-01$/.test(p.from) || !/^\d{4}-\d{2}-01$/.test(p.to)) {
    throw new RangeError(`not a month partition: ${JSON.stringify(p)}`);
  }
  return `create table if not exists ${p.name} partition of assets for values from ('${p.from}') to ('${p.to}')`;
}

/** Creates the missing partitions; returns the names it created. */
export async function ensurePartitions(em: EntityManager, partitions: MonthPartition[]): Promise<string[]> {
  const connection = em.getConnection();
  const rows = (await connection.execute(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent where p.relname = 'assets'`,
  )) as Array<{ name: string }>;
  const existing = new Set(rows.map((r) => r.name));
  const created: string[] = [];
  for (const partition of partitions) {
    if (existing.has(partition.name)) continue;
    await connection.execute(createPartitionSql(partition));
    created.push(partition.name);
  }
  return created;
}
