// "ONNX: Quantize Model...": the wizard, then one run at a time in a cancellable notification —
// quantize (calibration streamed, progress per batch), write the recipe, analyze the result on the
// same data, save the report beside the quantized model and open it in the report panel.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { DataSourceError, describeSyntheticInputs, isAbortError, openDataSource } from '../../core/data';
import { errorMessage } from '../../core/errors';
import { refuseQuantized } from '../../core/quant/pipeline';
import { quantizeAndAnalyze } from '../../core/workflows/quantizeAndAnalyze';
import { formatBytes, formatShape } from '../../shared/format';
import type { QuantReport } from '../../shared/quantReport';
import { settingsOf, type QuantizeChoices } from './choices';
import type { LiveInput } from '../common/stepInputs';
import { runQuantizeWizard, type StepId, type WizardModel } from './quantizeWizard';
import { RememberedChoices, writeRecipe } from './recipes';
import { analysisChoices, progressLine } from './reportActions';
import { modelFromEditorOrPick } from '../commands';
import type { ModelStore } from '../modelStore';

/** What a quantize command ended with (the command's return value). */
export type QuantizeOutcome =
  | { status: 'done'; output: string; resultFile: string; recipeFile: string; reportFile: string; report: QuantReport; warnings: string[] }
  | { status: 'cancelled'; stage: string; message: string }
  | { status: 'refused'; message: string }
  | { status: 'failed'; stage: string; message: string };

/** The run in progress, as the extension's API shows it. */
export interface QuantizeRunState {
  model: string;
  stage: string;
  /** The last progress line ("calibrating: pass 1/1, batch 3, 24 samples"). */
  detail: string;
  /** How far the notification's bar is (0-100). */
  percent: number;
}

/** What follows a quantization (the report panel), provided by the extension. */
export interface AfterQuantize {
  show(report: QuantReport): void;
}

/** The model "Quantize Model..." works on: the menu's file, the model view's, else one picked. */
export function quantizeTarget(arg: unknown): Promise<vscode.Uri | undefined> {
  return modelFromEditorOrPick(arg, 'Quantize which model?');
}

export class QuantizeFlow implements vscode.Disposable {
  private run: (QuantizeRunState & { controller: AbortController }) | undefined;
  /** The wizard's question on screen (published for the extension's tests). */
  private live: LiveInput | undefined;

  constructor(
    private readonly store: ModelStore,
    private readonly remembered: RememberedChoices,
    private readonly log: vscode.LogOutputChannel,
    private readonly after: AfterQuantize,
  ) {}

  /** The wizard's QuickPick on screen, if any. */
  get activeQuickPick(): vscode.QuickPick<vscode.QuickPickItem> | undefined {
    return this.live && 'items' in this.live ? this.live : undefined;
  }

  get state(): QuantizeRunState | undefined {
    return this.run && { model: this.run.model, stage: this.run.stage, detail: this.run.detail, percent: this.run.percent };
  }

  /** Cancels the run in progress (what the notification's Cancel does); false when none runs. */
  cancel(): boolean {
    if (!this.run) return false;
    this.log.info(`cancel requested for ${this.run.model} (${this.run.stage})`);
    this.run.controller.abort();
    return true;
  }

  private setRun(run: QuantizeFlow['run']): void {
    this.run = run;
    // Shows "ONNX: Cancel Quantization" in the palette while a run is on.
    void vscode.commands.executeCommand('setContext', 'onnxCompress.quantizing', !!run);
  }

  private refusal(): QuantizeOutcome | undefined {
    if (!this.run) return undefined;
    const message = `A quantization of ${path.basename(this.run.model)} is running (${this.run.stage}). Wait for it to finish or cancel it (ONNX: Cancel Quantization) before starting another.`;
    void vscode.window.showWarningMessage(message);
    this.log.warn(message);
    return { status: 'refused', message };
  }

  private async wizardModel(uri: vscode.Uri): Promise<WizardModel> {
    const view = await this.store.get(uri);
    const { rows } = await view.nodes(false);
    const inputs = view
      .overview()
      .summary.inputs.map((i) => `'${i.name}' ${i.elemType} ${formatShape(i.shape)}`)
      .join(', ');
    return {
      file: uri.fsPath,
      nodes: rows.filter((r) => r.graph === 'main').map((r) => ({ name: r.name, op: r.op })),
      inputs,
      checkData: async (spec, specs) => {
        try {
          const source = await openDataSource(spec, view.model, { inputs: specs });
          return { samples: source.samples ?? null };
        } catch (e) {
          if (e instanceof DataSourceError) return { problem: errorMessage(e) };
          throw e;
        }
      },
      describeInputs: (specs) => describeSyntheticInputs(view.model, specs),
      confirmReplace: async (output) => {
        const replace = 'Replace';
        const answer = await vscode.window.showWarningMessage(
          `${path.basename(output)} already exists in ${path.dirname(output)}. Replace it?`,
          { modal: true, detail: 'Its recipe, result (.quant.json) and report beside it are replaced too.' },
          replace,
        );
        return answer === replace;
      },
    };
  }

  /**
   * Asks (or takes `given` choices, e.g. from a test or a replay) and runs. Resolves to undefined
   * when the wizard was dismissed.
   */
  quantize(uri: vscode.Uri, given: Partial<QuantizeChoices>): Promise<QuantizeOutcome>;
  quantize(uri: vscode.Uri, given?: undefined, startAt?: StepId): Promise<QuantizeOutcome | undefined>;
  async quantize(uri: vscode.Uri, given?: Partial<QuantizeChoices>, startAt?: StepId): Promise<QuantizeOutcome | undefined> {
    const refused = this.refusal();
    if (refused) return refused;
    const model = uri.fsPath;
    // Refused before the wizard: a quantized model would only fail after every question.
    const quantized = await this.refuseQuantized(uri);
    if (quantized) return quantized;
    const initial = { ...this.remembered.get(model), ...given };
    let choices: QuantizeChoices | undefined = initial;
    if (!given) {
      choices = await runQuantizeWizard(await this.wizardModel(uri), initial, {
        startAt,
        onShow: (input) => {
          this.live = input;
        },
      });
    }
    if (!choices) return undefined;
    await this.remembered.remember(model, choices);
    // A run may have started while the wizard was open.
    return this.refusal() ?? this.execute(uri, choices);
  }

  private async refuseQuantized(uri: vscode.Uri): Promise<QuantizeOutcome | undefined> {
    try {
      refuseQuantized((await this.store.get(uri)).model, uri.fsPath);
      return undefined;
    } catch (e) {
      // The engine's message names the file and the float model to quantize instead.
      const message = `Cannot quantize ${errorMessage(e)}`;
      this.log.warn(message);
      void vscode.window.showErrorMessage(message);
      return { status: 'refused', message };
    }
  }

  private async execute(uri: vscode.Uri, choices: QuantizeChoices): Promise<QuantizeOutcome> {
    const model = uri.fsPath;
    const name = path.basename(model);
    const controller = new AbortController();
    const run = { model, stage: 'starting', detail: '', percent: 0, controller };
    this.setRun(run);
    const written: string[] = [];
    try {
      const settings = settingsOf(choices);
      this.log.info(`quantizing ${model} -> ${choices.output}: ${JSON.stringify(settings)}`);
      if (settings.calibration.startsWith('synthetic')) {
        void vscode.window.showWarningMessage(
          `${name}: ${settings.mode === 'static' ? 'calibrating' : 'evaluating'} on synthetic data (random inputs). Ranges and errors will not reflect your data; pick real samples for a model you will ship.`,
        );
      }
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Quantizing ${name}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => controller.abort());
          // The bar: calibration fills the first 60%, the analysis the rest; it never moves back.
          const stage = (s: string, detail = s, at?: number) => {
            if (s !== run.stage) this.log.info(`${name}: ${s}`);
            run.stage = s;
            run.detail = detail;
            const increment = at !== undefined && at > run.percent ? at - run.percent : undefined;
            if (increment) run.percent = at!;
            progress.report({ message: detail, increment });
          };
          // The data is checked against the model's inputs (headers only) before anything runs, so
          // that data for another model is refused at once, in every mode.
          stage('checking the data');
          // An output typed into a new folder gets its folder.
          await fs.promises.mkdir(path.dirname(choices.output), { recursive: true });
          const data = await openDataSource(settings.calibration, (await this.store.get(uri)).model, { inputs: settings.inputs });
          const samples = Math.min(data.samples ?? Infinity, settings.samples ?? Infinity);
          const recipe: { file?: string } = {};
          const {
            result,
            resultFile,
            report,
            reportFile: file,
          } = await quantizeAndAnalyze(model, settings, {
            output: choices.output,
            analysis: { ...analysisChoices(), labels: choices.labels ?? undefined },
            signal: controller.signal,
            onEvent: (e) => {
              if (e.type === 'quantize') {
                const p = e.calibration;
                stage(
                  e.stage,
                  p ? `${e.stage}: pass ${p.pass + 1}/${p.passes}, batch ${p.batch}, ${p.samples} samples` : e.stage,
                  p && Number.isFinite(samples) ? (60 * (p.pass + Math.min(1, p.samples / samples))) / p.passes : undefined,
                );
              } else if (e.type === 'quantized') {
                written.push(e.result.output, e.resultFile);
                recipe.file = writeRecipe(e.result.output, e.result.settings);
                written.push(recipe.file);
                for (const w of e.result.warnings) this.log.warn(`${name}: ${w}`);
                this.log.info(
                  `wrote ${e.result.output} (${formatBytes(e.result.sizes.outputBytes)}, ${(e.result.sizes.ratio * 100).toFixed(1)}% of ${formatBytes(e.result.sizes.inputBytes)}), ${e.resultFile}, ${recipe.file}`,
                );
                stage('analyzing', 'analyzing', 60);
              } else if (e.type === 'progress') {
                const [m, fraction] = progressLine(e);
                stage('analyzing', `analyzing: ${m}`, fraction === undefined ? undefined : 60 + 40 * fraction);
              }
            },
          });
          const recipeFile = recipe.file!;
          this.log.info(`wrote the report ${file}`);
          this.after.show(report);
          return { status: 'done' as const, output: result.output, resultFile, recipeFile, reportFile: file, report, warnings: result.warnings };
        },
      );
    } catch (e) {
      return this.failed(uri, choices, run.stage, e, controller.signal.aborted, written);
    } finally {
      this.setRun(undefined);
    }
  }

  private failed(uri: vscode.Uri, choices: QuantizeChoices, stage: string, e: unknown, aborted: boolean, written: string[]): QuantizeOutcome {
    const name = path.basename(uri.fsPath);
    if (aborted || isAbortError(e)) {
      // Files are written whole or not at all; what was complete before Cancel stays, and says so.
      const kept = written.filter((f) => fs.existsSync(f)).map((f) => path.basename(f));
      const message = `Quantization of ${name} cancelled while ${stage}. ${kept.length ? `Kept the complete ${kept.join(', ')}; no report was written.` : 'Nothing was written.'}`;
      this.log.info(message);
      void vscode.window.showInformationMessage(message);
      return { status: 'cancelled', stage, message };
    }
    const message = `Cannot quantize ${name}: ${errorMessage(e)}`;
    this.log.error(`${message} (while ${stage})`);
    if (e instanceof DataSourceError) {
      void vscode.window.showErrorMessage(message, 'Pick Other Data', 'Show Log').then((a) => {
        if (a === 'Pick Other Data') void this.quantize(uri, undefined, 'data');
        if (a === 'Show Log') this.log.show();
      });
    } else {
      void vscode.window.showErrorMessage(message, 'Change Settings', 'Show Log').then((a) => {
        if (a === 'Change Settings') void this.quantize(uri, undefined, choices.preset === 'custom' ? 'method' : 'preset');
        if (a === 'Show Log') this.log.show();
      });
    }
    return { status: 'failed', stage, message };
  }

  dispose(): void {
    this.run?.controller.abort();
  }
}
