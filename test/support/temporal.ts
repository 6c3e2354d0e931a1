/** Temporal helpers for tests. */
import type { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';

const { IndexedValueType } = proto.temporal.api.enums.v1;

/** The time-skipping test server knows no custom search attributes until they are added. */
export async function registerSearchAttributes(connection: Connection, namespace = 'default'): Promise<void> {
  const searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of SEARCH_ATTRIBUTES) {
    searchAttributes[key.name] =
      key.type === 'DATETIME' ? IndexedValueType.INDEXED_VALUE_TYPE_DATETIME : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  }
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

/**
 * The time-skipping test server with the search attributes registered. The SDK gives the server a
 * fixed 5 s to start; on a loaded 2-core machine that is sometimes too short, so a start that
 * times out is tried again (twice at most) before the error reaches the test.
 */
export async function startTimeSkipping(executablePath: string): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: executablePath } } });
      await registerSearchAttributes(env.connection);
      return env;
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test(String((err as Error).message))) throw err;
    }
  }
}
