// Which contributed menu entries the UI suite has clicked. Every entry of package.json's menus and
// every command the palette shows must be clicked by some flow: the last test fails otherwise, so a
// new menu entry cannot land without a test that uses it as a person does.
import * as fs from 'fs';
import * as path from 'path';
import { ROOT } from '../support/browser';

/** Where a command is offered: a menu id of package.json, or 'commandPalette'. */
export type Place = string;

const clicked = new Set<string>();

export function covers(place: Place, command: string): void {
  clicked.add(`${place} ${command}`);
}

interface Contributes {
  commands: Array<{ command: string }>;
  menus: Record<string, Array<{ command: string; when?: string }>>;
}

/** Every (place, command) pair the extension contributes. */
export function contributedEntries(): string[] {
  const { contributes } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: Contributes };
  const entries = new Set<string>();
  for (const [menu, items] of Object.entries(contributes.menus)) {
    if (menu === 'commandPalette') continue;
    for (const item of items) entries.add(`${menu} ${item.command}`);
  }
  const hidden = new Set(contributes.menus.commandPalette?.filter((m) => m.when === 'false').map((m) => m.command));
  for (const c of contributes.commands) if (!hidden.has(c.command)) entries.add(`commandPalette ${c.command}`);
  return [...entries].sort();
}

export function uncovered(): string[] {
  return contributedEntries().filter((e) => !clicked.has(e));
}
