/**
 * Temporal connections for every process, with one data converter (the payload codec) so that nothing
 * readable reaches the server, the SDK's own logs routed through the redacting logger, and (when the
 * process traces) the tracing interceptors.
 */
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { type CodecOptions, dataConverterWith, VaultPayloadCodec } from './codec';
import { type Config, config, durationMs, type VaultComponent } from './config';
import { logger } from './logger';
import { activeTracing } from './tracing';
import { connectVault, type Transit, type VaultSession } from './vault';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

export function temporalTarget(): TemporalTarget {
  const cfg = config();
  return { address: cfg.TEMPORAL_ADDRESS, namespace: cfg.TEMPORAL_NAMESPACE };
}

export function codecOptions(cfg: Config = config()): CodecOptions {
  return {
    keyName: cfg.VAULT_CODEC_KEY,
    rotationMs: durationMs(cfg.CODEC_KEY_ROTATION),
    log: logger().child({ component: 'codec' }),
  };
}

/** The codec a process uses for its clients, its workers and (in the API) the codec endpoint. */
export function createCodec(transit: Pick<Transit, 'dataKey' | 'unwrapDataKey'>): VaultPayloadCodec {
  return new VaultPayloadCodec(transit, codecOptions());
}

export interface ConnectClientOptions {
  /** Whose Vault identity wraps and unwraps the codec's data keys; default `api`, the CLI scripts' identity. */
  component: VaultComponent;
  /** A Vault session the process already holds; without one, the client logs in and logs out on close. */
  vault?: VaultSession;
  /** Share a codec (and its key cache) with the rest of the process, e.g. the API's codec endpoint. */
  codec?: PayloadCodec;
  target?: TemporalTarget;
}

/** A client for starting, signalling and querying orders, always with the payload codec. */
export async function connectClient(opts: ConnectClientOptions = { component: 'api' }): Promise<Client> {
  const target = opts.target ?? temporalTarget();
  const ownVault = opts.codec || opts.vault ? undefined : await connectVault(opts.component);
  const codec = opts.codec ?? createCodec((opts.vault ?? ownVault)!.transit);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address });
  } catch (err) {
    ownVault?.close();
    throw err;
  }
  if (ownVault) {
    // The caller closes the connection; the Vault login it never saw ends with it.
    const close = connection.close.bind(connection);
    connection.close = async () => {
      try {
        await close();
      } finally {
        ownVault.close();
      }
    };
  }
  return new Client({
    connection,
    namespace: target.namespace,
    dataConverter: dataConverterWith(codec),
    // Traced, a start carries the caller's span context (the intake request's) into the workflow's headers.
    interceptors: { workflow: activeTracing()?.clientInterceptors ?? [] },
  });
}
