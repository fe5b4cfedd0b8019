/** The committed JSON schema of webhook events, compiled by an independent validator (ajv). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { repoRoot } from '../../lib/config';

export const schemaPath = path.join(repoRoot, 'contracts', 'webhook-event.schema.json');

export function compileWebhookSchema() {
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
}
