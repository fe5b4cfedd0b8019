/**
 * The documentation is a map that must not lead anywhere that is not there: every "DESIGN n" or
 * "DESIGN n.m" the code cites names a heading of docs/design.md, and every relative link in README.md and
 * docs/ names a file that exists and, with an anchor, a heading in it (as GitHub makes anchors).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config';

const SKIP = new Set(['node_modules', '.git', '.data', '.tools', 'histories']);

function files(dir: string, ends: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return files(full, ends);
    return ends.test(name) ? [full] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(file: string): Set<string> {
  const headings = readFileSync(file, 'utf8').match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((h) => anchorOf(h.replace(/^#+ /, '').replace(/`/g, ''))));
}

const design = readFileSync(path.join(repoRoot, 'docs', 'design.md'), 'utf8');
const sections = new Set(
  (design.match(/^#{2,3} (\d+(?:\.\d+)?)[. ]/gm) ?? []).map((h) =>
    h.replace(/^#+ /, '').replace(/[. ]$/, ''),
  ),
);

describe('the documentation', () => {
  it('has a heading in docs/design.md for every DESIGN citation in the code', () => {
    const cited = new Map<string, string>();
    for (const file of files(repoRoot, /\.(ts|js|cjs|sh|hcl|yml|yaml|md)$/)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/DESIGN (\d+(?:\.\d+)?)/g))
        cited.set(m[1] as string, path.relative(repoRoot, file));
    }
    expect(cited.size).toBeGreaterThan(5);
    const missing = [...cited].filter(([n]) => !sections.has(n)).map(([n, f]) => `DESIGN ${n} (${f})`);
    expect(missing).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const pages = [path.join(repoRoot, 'README.md'), ...files(path.join(repoRoot, 'docs'), /\.md$/)];
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^[a-z]+:/.test(link)) continue;
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const file = target ? path.resolve(path.dirname(page), target) : page;
        const where = `${path.relative(repoRoot, page)} → ${link}`;
        if (!existsSync(file)) broken.push(`${where}: no such file`);
        else if (anchor && !anchorsIn(file).has(anchor)) broken.push(`${where}: no such heading`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('keeps the README a map', () => {
    const lines = readFileSync(path.join(repoRoot, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(160);
  });
});
