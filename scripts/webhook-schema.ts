// npm run schema:webhooks: writes contracts/webhook-event.schema.json from the event's zod schema
// (domain/webhooks.ts), the one definition; a unit test fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { webhookEventJsonSchema } from '../domain/webhooks';
import { repoRoot } from '../lib/config';

const file = path.join(repoRoot, 'contracts', 'webhook-event.schema.json');
writeFileSync(file, webhookEventJsonSchema());
console.log(`wrote ${path.relative(repoRoot, file)}`);
