/**
 * Temporal connections for every process, with one data converter (the payload codec) so that nothing
 * readable reaches the server, the same transport settings (TLS, mTLS, API key) for clients and workers,
 * the SDK's own logs routed through the redacting logger, and (when the process traces) the tracing
 * interceptors.
 */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { type CodecOptions, dataConverterWith, VaultPayloadCodec } from './codec';
import {
  type Config,
  config,
  durationMs,
  readSettingFile,
  temporalTlsEnabled,
  type VaultComponent,
} from './config';
import { logger } from './logger';
import { activeTracing } from './tracing';
import { connectVault, type Transit, type VaultSession } from './vault';

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** TLS settings (server CA, client certificate pair, server name); absent: plain gRPC. */
  tls?: TLSConfig;
  /** Temporal Cloud's API key, sent as a bearer token. */
  apiKey?: string;
}

/** Where and how to reach Temporal, from the configuration; the certificate files are read here. */
export function temporalTarget(cfg: Config = config()): TemporalTarget {
  const target: TemporalTarget = { address: cfg.TEMPORAL_ADDRESS, namespace: cfg.TEMPORAL_NAMESPACE };
  if (temporalTlsEnabled(cfg)) {
    const tls: TLSConfig = {};
    if (cfg.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = cfg.TEMPORAL_TLS_SERVER_NAME;
    if (cfg.TEMPORAL_TLS_CA_FILE) {
      tls.serverRootCACertificate = readSettingFile('TEMPORAL_TLS_CA_FILE', cfg.TEMPORAL_TLS_CA_FILE);
    }
    if (cfg.TEMPORAL_TLS_CERT_FILE && cfg.TEMPORAL_TLS_KEY_FILE) {
      tls.clientCertPair = {
        crt: readSettingFile('TEMPORAL_TLS_CERT_FILE', cfg.TEMPORAL_TLS_CERT_FILE),
        key: readSettingFile('TEMPORAL_TLS_KEY_FILE', cfg.TEMPORAL_TLS_KEY_FILE),
      };
    }
    target.tls = tls;
  }
  if (cfg.TEMPORAL_API_KEY) target.apiKey = cfg.TEMPORAL_API_KEY;
  return target;
}

/** Options for both `Connection.connect` (clients) and `NativeConnection.connect` (workers). */
export function connectionOptions(target: TemporalTarget): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  return {
    address: target.address,
    ...(target.tls ? { tls: target.tls } : {}),
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  };
}

function codecOptions(cfg: Config = config()): CodecOptions {
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
  /** Whose Vault identity wraps and unwraps the codec's data keys (the CLIs: `cli`). */
  component: VaultComponent;
  /** A Vault session the process already holds; without one, the client logs in and logs out on close. */
  vault?: VaultSession;
  /** Share a codec (and its key cache) with the rest of the process, e.g. the API's codec endpoint. */
  codec?: PayloadCodec;
  target?: TemporalTarget;
}

/** A client for starting, signalling and querying orders, always with the payload codec. */
export async function connectClient(opts: ConnectClientOptions): Promise<Client> {
  const target = opts.target ?? temporalTarget();
  const ownVault = opts.codec || opts.vault ? undefined : await connectVault(opts.component);
  const codec = opts.codec ?? createCodec((opts.vault ?? ownVault)!.transit);
  let connection: Connection;
  try {
    connection = await Connection.connect(connectionOptions(target));
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
