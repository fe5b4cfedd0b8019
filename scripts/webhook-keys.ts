/**
 * `npm run webhook-keys -- secret | signing-key | public-keys`: a fresh `whsec_` secret for a caller's
 * endpoint; a fresh Ed25519 signing key (`whsk_…`, for WEBHOOK_ENDPOINTS' "signingKeys") with the public key
 * (`whpk_…`) to publish to the caller; or each configured caller's public keys, from WEBHOOK_ENDPOINTS.
 * Nothing is written anywhere: the output is what the operator puts in the configuration.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { webhookPublicKey } from '../domain/signing';
import { configFor } from '../lib/config';

function newSigningKey(): string {
  const pkcs8 = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
  return `whsk_${pkcs8.subarray(pkcs8.length - 32).toString('base64')}`;
}

const command = process.argv[2];
if (command === 'secret') {
  console.log(`whsec_${randomBytes(32).toString('base64')}`);
} else if (command === 'signing-key') {
  const key = newSigningKey();
  console.log(`signing key (WEBHOOK_ENDPOINTS "signingKeys"; a secret): ${key}`);
  console.log(`public key (give it to the caller; not a secret):      ${webhookPublicKey(key)}`);
} else if (command === 'public-keys') {
  const endpoints = configFor('cli').WEBHOOK_ENDPOINTS ?? new Map();
  for (const [caller, endpoint] of endpoints)
    for (const key of endpoint.signingKeys ?? []) console.log(`${caller}: ${webhookPublicKey(key)}`);
} else {
  console.log('usage: npm run webhook-keys -- secret | signing-key | public-keys');
  process.exitCode = 2;
}
