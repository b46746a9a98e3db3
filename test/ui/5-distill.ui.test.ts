// Distillation as a person does it: the wizard from the palette, answered by typing and clicking;
// the run started from the spec's editor title, streamed into the run view; Quantize This Student
// from the run view's button; a second run from the Explorer, cancelled and resumed from the Runs
// view's inline buttons; and the remaining palette and menu entries of distillation.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { bench } from './setup';
import { covers } from './coverage';
import { until } from './workbench';

const inWs = (...p: string[]) => path.join(bench().workspace, ...p);
const runs = () => (fs.existsSync(inWs('distill-runs')) ? fs.readdirSync(inWs('distill-runs')).sort() : []);
/** How many training steps the run has logged (after one, Cancel leaves a checkpoint to resume from). */
const steps = (run: string) => {
  const file = inWs('distill-runs', run, 'metrics.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('"event":"step"').length - 1 : 0;
};
const runReport = (run: string) => {
  const file = inWs('distill-runs', run, 'report.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
};

/** Sets the spec's epochs (as a person edits the spec file). */
function setEpochs(epochs: number): void {
  const file = inWs('fashion-ui.distill.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), epochs }, null, 2) + '\n');
}

/** The run's report when it was written after `since` (ms). */
function reportedSince(run: string, since: number) {
  const file = inWs('distill-runs', run, 'report.json');
  return fs.existsSync(file) && fs.statSync(file).mtimeMs > since ? runReport(run) : undefined;
}

type Answer = { pick: RegExp } | { type: string } | 'enter';

/**
 * Answers a multi-step wizard question by question: each question (its placeholder or prompt) is
 * matched against `answers` in order; the default is Enter. Ends when the quick input closes.
 */
async function answerWizard(answers: Array<[RegExp, Answer]>): Promise<string[]> {
  const b = bench();
  const seen: string[] = [];
  let last = '';
  for (;;) {
    const question = await until(
      'the next question',
      async () => {
        if (!(await b.quickInput().isVisible())) return 'closed';
        const q = `${await b
          .quickInput()
          .locator('.quick-input-title')
          .innerText()
          .catch(() => '')} | ${await b.quickMessage()}`;
        return q !== last ? q : undefined;
      },
      60000,
    );
    if (question === 'closed') return seen;
    last = question;
    seen.push(question);
    const rule = answers.find(([re]) => re.test(question));
    const answer = rule?.[1] ?? 'enter';
    if (answer === 'enter') await b.quickEnter();
    else if ('pick' in answer) await b.quickPick(answer.pick);
    else {
      await b.quickType(answer.type);
      await b.quickEnter();
    }
    // The next question replaces this one in the same widget: wait for the change.
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('UI: distill', () => {
  let firstRun = '';
  let second = '';

  it('Set Up Distillation... from the palette: the wizard writes a spec and opens it', async () => {
    const b = bench();
    await b.closeAllEditors();
    await b.palette('ONNX: Set Up Distillation...');
    covers('commandPalette', 'onnxCompress.setUpDistillation');
    await b.quickTitle(/./);
    const seen = await answerWizard([
      [/Teacher/, { pick: /^fashion_cnn\.onnx/ }],
      [/Student/, { pick: /^fashion_mlp_student\.onnx/ }],
      [/Training data/, { pick: /^train-512-images-idx3-ubyte\.gz/ }],
      [/Training labels/, { pick: /^train-512-labels-idx1-ubyte\.gz/ }],
      [/Training samples/, { type: '512' }],
      [/Evaluation data/, { pick: /^t10k-1000-images-idx3-ubyte\.gz/ }],
      [/Evaluation labels/, { pick: /^t10k-1000-labels-idx1-ubyte\.gz/ }],
      [/Device/, { pick: /^cpu/ }],
      [/Epochs/, { type: '1' }],
      [/Name of the spec/, { type: 'fashion-ui' }],
    ]);
    assert.ok(
      seen.some((q) => /Knowledge to transfer/.test(q)),
      `the knowledge question was asked: ${seen.join('\n')}`,
    );
    const spec = inWs('fashion-ui.distill.json');
    await until('the spec written', () => fs.existsSync(spec));
    await until('the spec open in an editor', async () => (await b.activeTab()) === 'fashion-ui.distill.json');
    const json = JSON.parse(fs.readFileSync(spec, 'utf8'));
    assert.strictEqual(json.student.model, 'distill/fashion_mlp_student.onnx');
    assert.strictEqual(json.data.train.samples, 512);
  });

  it('the student list leaves out quantized models, and the typed path suggests a student', async () => {
    const b = bench();
    await b.palette('ONNX: Set Up Distillation...');
    await answerWizardUntil(/Student/);
    const rows = await b.quickRows();
    assert.ok(
      rows.some((r) => /^fashion_mlp_student\.onnx/.test(r)),
      rows.join(' | '),
    );
    assert.ok(!rows.some((r) => /\.int8\.onnx|keep-float/.test(r)), `no quantized model offered as a student: ${rows.join(' | ')}`);
    await b.quickPick(/Type a path/);
    await until('the path box', async () =>
      /models\/student\.onnx/.test((await b.quickInput().locator('.quick-input-box input').getAttribute('placeholder')) ?? ''),
    );
    await b.closeQuickInput();
  });

  it("Start Distillation Run from the spec's title bar streams into the run view; Quantize This Student continues into the quantize wizard", async function () {
    this.timeout(700000);
    const b = bench();
    await b.editorTitleAction('Start Distillation Run');
    covers('editor/title', 'onnxCompress.startDistillation');
    firstRun = await until('a run folder', () => runs()[0], 60000);
    const view = await b.webview('#run-state', 120000);
    await until('the run to complete', () => runReport(firstRun)?.status === 'completed', 600000);
    await until('the run view to show it completed', async () => /Completed/i.test(await view.locator('#run-state').innerText()), 60000);
    await b.shot('distill-run-view');
    assert.ok(fs.existsSync(inWs('distill-runs', firstRun, 'student.onnx')));
    await view.locator('#run-actions button[data-action="quantize"]').click();
    await b.quickTitle(/^Quantize student\.onnx: preset/);
    await b.closeQuickInput();
  });

  it('a run from the Explorer menu, cancelled and resumed from the Runs view, cancelled from the palette, then opened', async function () {
    this.timeout(900000);
    const b = bench();
    await b.clearNotifications();
    // Runs long enough to be cancelled mid-training (an epoch of 512 samples takes a fraction of a second).
    setEpochs(5000);
    await b.explorerMenu('fashion-ui.distill.json', 'Start Distillation Run');
    covers('explorer/context', 'onnxCompress.startDistillation');
    second = await until('a second run', () => runs().find((r) => r !== firstRun), 60000);
    await until('training steps', () => steps(second) > 0, 300000);
    await b.focusView('Runs');
    // The Runs view lists a run once its folder holds its job: refresh until it is there.
    await until(
      `${second} in the Runs view`,
      async () => {
        await b.viewTitleAction('Runs', 'Refresh Runs');
        await new Promise((r) => setTimeout(r, 500));
        return b.treeRow('Runs', new RegExp(`^${second}`)).isVisible();
      },
      120000,
    );
    covers('view/title', 'onnxCompress.refreshRuns');
    await b.treeInlineAction('Runs', new RegExp(`^${second}`), 'Cancel Distillation Run');
    covers('view/item/context', 'onnxCompress.cancelDistillation');
    await until('the run cancelled', () => runReport(second)?.status === 'cancelled', 180000);
    await b.viewTitleAction('Runs', 'Refresh Runs');
    const trainedBefore = steps(second);
    // The row is drawn again when the tree refreshes: a click that lands on the old row is lost, so click until the run trains on.
    await until(
      'the resumed run to train on',
      async () => {
        if (steps(second) > trainedBefore) return true;
        await b.treeInlineAction('Runs', new RegExp(`^${second}`), 'Resume Distillation Run');
        return until('new steps', () => steps(second) > trainedBefore, 20000).catch(() => false);
      },
      300000,
    );
    covers('view/item/context', 'onnxCompress.resumeDistillation');
    const asked = Date.now();
    await b.palette('ONNX: Cancel Distillation Run');
    covers('commandPalette', 'onnxCompress.cancelDistillation');
    await until('the resumed run cancelled', () => reportedSince(second, asked)?.status === 'cancelled', 180000);
    await b.closeAllEditors();
    await b.viewTitleAction('Runs', 'Refresh Runs');
    await b.treeInlineAction('Runs', new RegExp(`^${second}`), 'Open Distillation Run');
    covers('view/item/context', 'onnxCompress.openDistillRun');
    await b.webview('#run-state', 60000);
  });

  it("the spec editor's context menu starts a run; the palette offers runs to resume, opens and starts runs", async function () {
    this.timeout(900000);
    const b = bench();
    await b.closeAllEditors();
    setEpochs(1);
    await b.openFromExplorer('fashion-ui.distill.json');
    await until('the spec editor', async () => (await b.activeTab()) === 'fashion-ui.distill.json');
    const editor = b.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
    const before = runs().length;
    await b.contextMenu(() => editor.click({ button: 'right' }), 'Start Distillation Run');
    covers('editor/context', 'onnxCompress.startDistillation');
    const third = await until('a third run', () => (runs().length > before ? runs()[runs().length - 1] : undefined), 60000);
    await until('the third run to complete', () => runReport(third)?.status === 'completed', 600000);

    // The palette offers the cancelled run to resume (the inline Resume above resumed one).
    await b.palette('ONNX: Resume Distillation Run');
    covers('commandPalette', 'onnxCompress.resumeDistillation');
    await b.quickTitle(/Resume Distillation Run/);
    const offered = await b.quickRows();
    assert.ok(
      offered.some((r) => r.startsWith(second) && /cancelled/.test(r)),
      `the cancelled run is offered: ${offered.join(' | ')}`,
    );
    assert.ok(!offered.some((r) => r.startsWith(third)), 'a completed run is not');
    await b.closeQuickInput();

    await b.palette('ONNX: Open Distillation Run');
    covers('commandPalette', 'onnxCompress.openDistillRun');
    await b.quickTitle(/Open Distillation Run/);
    await b.quickPick(new RegExp(`^${firstRun}`));
    await b.webview('#run-state', 60000);

    const count = runs().length;
    await b.palette('ONNX: Start Distillation Run');
    covers('commandPalette', 'onnxCompress.startDistillation');
    const fourth = await until('a run from the palette', () => (runs().length > count ? runs()[runs().length - 1] : undefined), 60000);
    await until('it to complete', () => runReport(fourth)?.status === 'completed', 600000);
  });

  it("the Runs view's + starts the wizard", async () => {
    const b = bench();
    await b.focusView('Runs');
    await b.viewTitleAction('Runs', 'Set Up Distillation...');
    covers('view/title', 'onnxCompress.setUpDistillation');
    await until('the wizard', async () => /Teacher/.test(await b.quickMessage()));
    await b.closeQuickInput();
  });
});

/** Answers the setup wizard up to the question matching `stop` (teacher: the Fashion-MNIST CNN). */
async function answerWizardUntil(stop: RegExp): Promise<void> {
  const b = bench();
  await until(
    `the question ${stop}`,
    async () => {
      const q = await b.quickMessage();
      if (stop.test(q)) return true;
      if (/Teacher/.test(q)) {
        await b.quickPick(/^fashion_cnn\.onnx/);
        await new Promise((r) => setTimeout(r, 300));
      }
      return false;
    },
    60000,
  );
}
