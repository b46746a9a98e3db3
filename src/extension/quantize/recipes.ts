// Choices remembered per model: in the workspace state after every run, and as a recipe file
// beside the quantized model (the same format `onnx-compress quantize --recipe` replays). A model
// quantized elsewhere (the CLI, a colleague) offers its recipe's choices the first time.
import * as fs from 'fs';
import type * as vscode from 'vscode';
import { readRecipe, recipeOf } from '../../core/quant/settings';
import type { QuantSettings } from '../../shared/quantResult';
import { choicesFromSettings, defaultChoices, recipeFileOf, type QuantizeChoices } from './choices';
import { jsonText, writeFileAtomicSync } from '../../core/files';

const KEY = 'onnxCompress.quantize.choices';

type Remembered = Record<string, QuantizeChoices>;

export class RememberedChoices {
  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The last choices for `model`, else those of a recipe beside its default output, else defaults. */
  get(model: string): QuantizeChoices {
    const saved = this.state.get<Remembered>(KEY, {})[model];
    if (saved) return { ...defaultChoices(model), ...saved };
    const fallback = defaultChoices(model);
    const recipe = recipeFileOf(fallback.output);
    if (!fs.existsSync(recipe)) return fallback;
    try {
      return choicesFromSettings(readRecipe(recipe), fallback.output);
    } catch (e) {
      this.log.warn(`ignored the recipe ${recipe}: ${(e as Error).message}`);
      return fallback;
    }
  }

  async remember(model: string, choices: QuantizeChoices): Promise<void> {
    await this.state.update(KEY, { ...this.state.get<Remembered>(KEY, {}), [model]: choices });
  }
}

/** Writes the recipe of a run beside its output (temporary file, renamed); returns its path. */
export function writeRecipe(output: string, settings: QuantSettings): string {
  const file = recipeFileOf(output);
  writeFileAtomicSync(file, jsonText(recipeOf(settings)));
  return file;
}
