import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { settingDefaults, settingNames } from '../../src/config/config.js';
import { heraldProgram } from '../../src/cli/program.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the Markdown table that follows `heading`, as arrays of trimmed cells. */
function tableAfter(heading: string): string[][] {
  const section = readme.slice(readme.indexOf(heading));
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

function commandPaths(command: Command, prefix = ''): string[] {
  return command.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    return sub.commands.length > 0 ? commandPaths(sub, `${path} `) : [path];
  });
}

describe('README.md', () => {
  const settings = tableAfter('## Configuration');

  it('lists every environment variable of the configuration schema, and no other', () => {
    const documented = settings.map(([name]) => name?.replaceAll('`', ''));
    expect(documented.length).toBeGreaterThan(30);
    expect([...documented].sort()).toEqual([...settingNames].sort());
  });

  it("states each variable's default as the schema has it", () => {
    const literal = settings.filter(([, value]) => value?.startsWith('`'));
    expect(literal.length).toBeGreaterThan(30);
    for (const [name, value] of literal) {
      const key = name!.replaceAll('`', '');
      expect(`${key}=${String(settingDefaults[key])}`).toBe(`${key}=${value!.replaceAll('`', '')}`);
    }
  });

  it('lists every CLI command in its command table', async () => {
    const documented = tableAfter('## Running').map(([cell]) => cell ?? '');
    const commands = commandPaths(await heraldProgram());
    expect(commands).toContain('account create');
    for (const command of commands) {
      expect(
        documented.some((cell) => cell.split(' / ').some((part) => part.replaceAll('`', '').startsWith(command))),
        `command "${command}"`,
      ).toBe(true);
    }
  });
});
