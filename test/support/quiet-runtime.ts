/** Import first in tests that run workers: the SDK logs only warnings and errors. */
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
