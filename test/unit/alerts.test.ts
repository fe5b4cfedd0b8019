/**
 * The alerting rules: valid for Prometheus, each alert firing on its failure and quiet on a healthy fleet
 * (promtool's own rule tests, deploy/prometheus/alerts.test.yml), and every pipeline metric they name
 * defined, so that renaming a metric cannot silently disarm an alert.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerFleetGauges } from '../../domain/fleet-gauges';
import { repoRoot } from '../../lib/config';
import type { Db } from '../../lib/db';
import { registry } from '../../lib/metrics';

const dir = path.join(repoRoot, 'deploy', 'prometheus');

function promtool(...args: string[]): string {
  // No skip when promtool is missing: scripts/install.sh installs it, and a missing tool must fail loudly.
  return execFileSync('promtool', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
}

describe('alerting rules', () => {
  it('pass promtool check rules', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("pass promtool's rule unit tests: each alert fires on its failure, none on a healthy fleet", () => {
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });

  it('name only metrics the pipeline defines', () => {
    registerFleetGauges({} as Db, 3_600_000); // defined only: nothing is collected here
    const named = new Set(readFileSync(path.join(dir, 'alerts.yml'), 'utf8').match(/giftcards_[a-z_]+/g));
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) expect(registry.getSingleMetric(name), name).toBeDefined();
  });
});
