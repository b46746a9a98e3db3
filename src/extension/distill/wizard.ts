// "ONNX: Set Up Distillation...": a multi-step QuickPick that asks for the teacher, the student,
// the data, the knowledge to transfer (with each loss's parameters and, for feature knowledge,
// tensor pairs picked from both models' real tensors), the scheme and the training settings, then
// writes `NAME.distill.json` and opens it. The spec file is the form: nothing here is a webview.
import * as path from 'path';
import * as vscode from 'vscode';
import { DISTILL_DEFAULTS, DISTILL_SPEC_FORMAT, DISTILL_SPEC_SUFFIX, type DataSplitSpec, type DistillSpec, type KnowledgeSpec } from '../../shared/distillSpec';
import { jsonText, writeFileAtomic } from '../../core/files';
import { runWizard, type LiveInput } from '../common/stepInputs';
import { knowledgeSteps } from './knowledgeSteps';
import type { SpecChecker } from './specProblems';
import { initialState, rel, type State } from './wizardAnswers';
import { MODEL_AND_DATA_STEPS, SCHEME_AND_TRAINING_STEPS } from './wizardSteps';

const WIZARD = { title: 'Set Up Distillation', steps: [...MODEL_AND_DATA_STEPS, ...knowledgeSteps(), ...SCHEME_AND_TRAINING_STEPS] };

export class DistillWizard {
  /** The QuickPick or InputBox the wizard shows now (published for the extension's tests). */
  live: LiveInput | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly checker: SpecChecker,
  ) {}

  /** Runs the wizard; resolves to the spec file written, or undefined when the user closed it. */
  async run(folder: string): Promise<string | undefined> {
    const state = initialState(folder);
    const done = await runWizard(WIZARD, state, {
      onShow: (input) => {
        this.live = input;
      },
    });
    return done ? this.write(state) : undefined;
  }

  /** The spec the answers describe (paths relative to the spec's folder where inside it). */
  specOf(s: State): DistillSpec {
    const split = (source: string, labels: string | null | undefined, samples?: number | null): DataSplitSpec => ({
      source: rel(s, source),
      labels: labels ? rel(s, labels) : null,
      ...(samples ? { samples } : {}),
    });
    const knowledge = s.types.map((t) => s.knowledge[t] ?? ({ type: t, ...DISTILL_DEFAULTS[t] } as KnowledgeSpec));
    return {
      format: DISTILL_SPEC_FORMAT,
      version: 1,
      description: `${s.types.join(' + ')} distillation of ${path.basename(s.teacher!)}, set up with the wizard`,
      teacher: { model: rel(s, s.teacher!) },
      student: s.student!,
      data: { train: split(s.train!, s.trainLabels, s.trainSamples), eval: s.eval ? split(s.eval, s.evalLabels) : null },
      knowledge,
      scheme: s.scheme,
      optimizer: { name: DISTILL_DEFAULTS.optimizer.name, lr: s.lr },
      epochs: s.epochs,
      batchSize: s.batchSize,
      device: s.device,
    };
  }

  private async write(s: State): Promise<string> {
    const spec = this.specOf(s);
    const file = path.join(s.folder, s.name! + DISTILL_SPEC_SUFFIX);
    await writeFileAtomic(file, jsonText(spec));
    this.log.info(`wrote ${file}`);
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    // Checked against the real models once written: problems go to the Problems panel with their place.
    await this.checker.check(file);
    return file;
  }
}
