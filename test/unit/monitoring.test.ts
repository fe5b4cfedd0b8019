/**
 * The alerting rules and the dashboard: the rules valid for Prometheus, each alert firing on its failure and
 * quiet on a healthy fleet (promtool's own rule tests, deploy/prometheus/alerts.test.yml), and every
 * pipeline metric either names defined, so that renaming a metric cannot silently disarm an alert or blank a
 * panel. (The stack test runs every panel's query on the real Prometheus.)
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
const dashboard = path.join(repoRoot, 'deploy', 'grafana', 'giftcards.json');

/** The pipeline's metric names in a text; a histogram's series name its metric. */
function pipelineMetrics(text: string): Set<string> {
  return new Set((text.match(/giftcards_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
}

registerFleetGauges({} as Db, 3_600_000); // defined only: nothing is collected here

function expectDefined(names: Set<string>) {
  expect(names.size).toBeGreaterThan(5);
  for (const name of names) expect(registry.getSingleMetric(name), name).toBeDefined();
}

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
    expectDefined(pipelineMetrics(readFileSync(path.join(dir, 'alerts.yml'), 'utf8')));
  });
});

describe('the Grafana dashboard', () => {
  it('is a dashboard over the Prometheus data source whose panels name only defined metrics', () => {
    const json = JSON.parse(readFileSync(dashboard, 'utf8')) as {
      uid: string;
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(json.uid).toBe('giftcards-pipeline');
    expect(json.panels.length).toBeGreaterThan(10);
    for (const panel of json.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    expectDefined(pipelineMetrics(json.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n')));
  });
});
