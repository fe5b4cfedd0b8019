// Per test file: Temporal's SDK logs go through the project's redacting logger (and so into LOG_FILE).
import { Runtime } from '@temporalio/worker';
import { createLogger, TemporalPinoLogger } from '../../lib/logger';

try {
  Runtime.install({
    logger: new TemporalPinoLogger(
      createLogger({ name: 'temporal-sdk', level: process.env.LOG_LEVEL ?? 'info' }),
    ),
  });
} catch {
  // Installed already by an earlier file in this worker process.
}
