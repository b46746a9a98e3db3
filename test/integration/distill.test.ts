// Distillation in a real VS Code extension host: the setup wizard answered through its live
// QuickPicks and InputBoxes (with a step back) writes a spec that the engine and the JSON Schema
// accept; a short real run (Fashion-MNIST CNN teacher, MLP student, 2,000 images, 1 epoch, the
// trainer in Debian's torch) streams into the run view and ends with a verified student; the Runs
// tree lists it; a cancelled run resumes; no Python and a wrong tensor name are refused clearly.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import Ajv from 'ajv';
import { validateSpec } from '../../src/core/distill';
import type { OnnxCompressApi } from '../../src/extension/extension';
import type { QuantizeOutcome } from '../../src/extension/quantize/quantizeCommand';
import type { LiveInput } from '../../src/extension/common/stepInputs';
import type { Refusal, StartOutcome } from '../../src/extension/distill/runController';
import type { RunsItem } from '../../src/extension/distill/runsTree';
import { RUN_LAYOUT, type DistillRunReport } from '../../src/shared/distillRun';
import { ROOT } from '../support/browser';
import { waitFor, workspace } from './wait';

const FASHION = '/usr/share/datasets/fashion-mnist';
const PYTHON = process.env.ONNX_COMPRESS_PYTHON ?? '/usr/bin/python3';
const dir = () => path.join(workspace(), 'distill');

/** The extension host sends a QuickPick's new selection or value to the window after a tick: let it arrive before Enter. */
const settle = () => new Promise((r) => setTimeout(r, 150));

const isQuickPick = (i: LiveInput): i is vscode.QuickPick<vscode.QuickPickItem> => 'items' in i;
const question = (i: LiveInput) => (isQuickPick(i) ? i.placeholder : i.prompt) ?? '';

/** Answers the wizard like a user: waits for the question, picks items by label or types a value, presses Enter. */
class Answerer {
  private answered = new Set<LiveInput>();
  constructor(private readonly api: OnnxCompressApi) {}

  async shown(expect: RegExp): Promise<LiveInput> {
    const input = await waitFor(`the wizard to ask ${expect}`, () => {
      const live = this.api.distill.wizard.live;
      return live && !this.answered.has(live) ? live : undefined;
    });
    assert.match(question(input), expect, `the wizard asks ${expect} at step ${input.step}`);
    return input;
  }

  async pick(expect: RegExp, labels: RegExp[]): Promise<vscode.QuickPick<vscode.QuickPickItem>> {
    const qp = await this.shown(expect);
    assert.ok(isQuickPick(qp), `${question(qp)} is a QuickPick`);
    const items = labels.map((re) => {
      const item = qp.items.find((i) => re.test(i.label));
      assert.ok(item, `${question(qp)} offers ${re} among ${qp.items.map((i) => i.label).join(' | ')}`);
      return item!;
    });
    if (qp.canSelectMany) qp.selectedItems = items;
    else qp.activeItems = items;
    await this.accept(qp);
    const chosen = qp.canSelectMany ? qp.selectedItems : qp.activeItems;
    assert.deepStrictEqual(
      chosen.map((i) => i.label),
      items.map((i) => i.label),
      `${question(qp)} accepted what was picked`,
    );
    return qp;
  }

  async type(expect: RegExp, value: string): Promise<vscode.InputBox> {
    const box = await this.shown(expect);
    assert.ok(!isQuickPick(box), `${question(box)} is an InputBox`);
    box.value = value;
    await this.accept(box);
    return box;
  }

  /** A typed path through the "Type a path..." item. */
  async typedPath(expect: RegExp, file: string): Promise<void> {
    await this.pick(expect, [/Type a path/]);
    await this.type(expect, file);
  }

  async back(expect: RegExp): Promise<void> {
    const input = await this.shown(expect);
    this.answered.add(input);
    await vscode.commands.executeCommand('workbench.action.quickInputBack');
  }

  private async accept(input: LiveInput): Promise<void> {
    this.answered.add(input);
    await settle();
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await waitFor(`"${question(input)}" to be answered`, () => this.api.distill.wizard.live !== input);
  }
}

async function setPython(value: string): Promise<void> {
  await vscode.workspace.getConfiguration('onnxCompress').update('distill.pythonPath', value, vscode.ConfigurationTarget.Global);
}

function runFolders(): string[] {
  const runs = path.join(workspace(), 'distill-runs');
  return fs.existsSync(runs) ? fs.readdirSync(runs).sort() : [];
}

function isReport(o: StartOutcome | undefined): o is DistillRunReport {
  return !!o && 'status' in o;
}

describe('Distillation in VS Code', () => {
  let api: OnnxCompressApi;
  let specFile: string;
  let completed: DistillRunReport;

  before(async () => {
    const ext = vscode.extensions.all.find((e) => e.packageJSON.name === 'onnx-compress');
    api = (await ext!.activate()) as OnnxCompressApi;
    assert.ok(api.distill, 'the API exposes distillation');
    fs.mkdirSync(dir(), { recursive: true });
    for (const m of ['fashion_cnn.onnx', 'fashion_mlp_student.onnx']) fs.copyFileSync(path.join(ROOT, 'test', 'fixtures', 'models', m), path.join(dir(), m));
    await setPython(PYTHON);
  });

  afterEach(async () => {
    // A failed wizard test must not leave its question open for the next one.
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the wizard, answered step by step (with a step back), writes a spec the engine and the JSON Schema accept', async function () {
    this.timeout(120000);
    const a = new Answerer(api);
    const running = vscode.commands.executeCommand<string | undefined>('onnxCompress.setUpDistillation');
    const teacher = await a.pick(/^Teacher/, [/^fashion_cnn\.onnx$/]);
    assert.strictEqual(teacher.step, 1);
    assert.ok((teacher.totalSteps ?? 0) > 10, 'a step counter with the total');
    assert.ok(
      teacher.items.some((i) => /Browse/.test(i.label)) && teacher.items.some((i) => /Type a path/.test(i.label)),
      'models outside the workspace can be browsed or typed',
    );
    const student = await a.pick(/^Student/, [/^fashion_mlp_student\.onnx$/]);
    assert.ok(!student.items.some((i) => i.label === 'fashion_cnn.onnx'), 'the teacher is not offered as the student');
    assert.ok(
      student.items.some((i) => /PyTorch factory/.test(i.label)),
      'a PyTorch factory can be typed',
    );
    // Back from the data step shows the student question again.
    await a.back(/^Training data/);
    await a.pick(/^Student/, [/^fashion_mlp_student\.onnx$/]);
    await a.typedPath(/^Training data/, `${FASHION}/train-images-idx3-ubyte.gz`);
    await a.typedPath(/^Training labels/, `${FASHION}/train-labels-idx1-ubyte.gz`);
    // A refused value stays in the box with its reason.
    const samples = await a.shown(/^Training samples/);
    assert.ok(!isQuickPick(samples));
    samples.value = 'many';
    await settle();
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await waitFor('the validation message', () => samples.validationMessage);
    assert.match(String(samples.validationMessage), /number/);
    assert.strictEqual(api.distill.wizard.live, samples, 'a refused value does not advance');
    samples.value = '2000';
    await settle();
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await waitFor('the samples answer', () => api.distill.wizard.live !== samples);
    await a.typedPath(/^Evaluation data/, `${FASHION}/t10k-images-idx3-ubyte.gz`);
    await a.typedPath(/^Evaluation labels/, `${FASHION}/t10k-labels-idx1-ubyte.gz`);
    const kinds = await a.pick(/^Knowledge/, [/^response$/, /^feature$/]);
    assert.ok(kinds.canSelectMany);
    assert.match(kinds.items.find((i) => i.label === 'response')!.detail ?? '', /T\^2/, 'each kind shows its loss formula');
    await a.pick(/^Response knowledge/, [/^soft$/]);
    await a.type(/^Temperature/, '4');
    await a.type(/^alpha/, '0.5');
    await a.type(/^Weight of the response/, '1');
    const pairs = await a.shown(/^feature knowledge: tensor pairs/);
    assert.ok(isQuickPick(pairs) && pairs.canSelectMany);
    const proposed = pairs.items.filter((i) => /proposed/.test(i.description ?? ''));
    assert.ok(proposed.length >= 1, `a proposed pair: ${pairs.items.map((i) => `${i.label} ${i.description}`).join(' | ')}`);
    assert.deepStrictEqual(
      pairs.selectedItems.map((i) => i.label),
      proposed.map((i) => i.label),
      'proposed pairs come selected',
    );
    assert.match(proposed[0].detail ?? '', /^adapter: /, 'the adapter is shown');
    const exactly = (label: string) => new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
    // A pair of the user's choice: the teacher's flattened maps to the student's flattened input.
    await a.pick(/^feature knowledge: tensor pairs/, [...proposed.map((p) => exactly(p.label)), /Add a pair of my choice/]);
    const teacherTensor = await a.shown(/^Teacher tensor/);
    assert.ok(
      isQuickPick(teacherTensor) && teacherTensor.items.some((i) => i.label === '/Relu_1_output_0' && /\[1, 32, 11, 11\]/.test(i.description ?? '')),
      "the teacher's real tensors with shapes",
    );
    await a.pick(/^Teacher tensor/, [exactly('/Flatten_output_0')]);
    const studentTensor = await a.shown(/^Student tensor paired with \/Flatten_output_0/);
    assert.ok(isQuickPick(studentTensor));
    assert.match(
      studentTensor.items.find((i) => i.label === '/Flatten_output_0')?.description ?? '',
      /adapter linear/,
      'each candidate says the adapter it would get',
    );
    await a.pick(/^Student tensor/, [exactly('/Flatten_output_0')]);
    const again = await a.shown(/^feature knowledge: tensor pairs/);
    assert.ok(isQuickPick(again));
    assert.strictEqual(again.selectedItems.length, proposed.length + 1, 'the added pair comes back selected');
    await a.pick(
      /^feature knowledge: tensor pairs/,
      again.selectedItems.map((i) => exactly(i.label)),
    );
    await a.pick(/^Feature knowledge: how/, [/^mse$/]);
    await a.type(/^Weight of the feature/, '0.5');
    await a.pick(/^Scheme/, [/^offline$/]);
    await a.type(/^Epochs/, '1');
    await a.type(/^Batch size/, '128');
    await a.type(/^Learning rate/, '0.002');
    await a.pick(/^Device/, [/^cpu$/]);
    await a.type(/^Name of the spec/, 'fashion-kd');
    specFile = (await running)!;
    assert.strictEqual(specFile, path.join(workspace(), 'fashion-kd.distill.json'));
    assert.strictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, specFile, 'the spec is opened');

    const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
    assert.strictEqual(spec.teacher.model, 'distill/fashion_cnn.onnx', 'paths inside the workspace are relative');
    assert.deepStrictEqual(
      spec.knowledge.map((k: { type: string }) => k.type),
      ['response', 'feature'],
    );
    assert.deepStrictEqual(spec.data.train.samples, 2000);
    const validation = await validateSpec(specFile);
    assert.ok(validation.ok, `the engine accepts the spec: ${JSON.stringify(validation.problems)}`);
    assert.strictEqual(validation.adapters.length, proposed.length + 1, 'every pair got its adapter');
    assert.strictEqual(validation.adapters.find((x) => x.teacher === '/Flatten_output_0')?.adapter, 'linear');
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'distill.schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: false });
    assert.ok(ajv.validate(schema, spec), `the JSON Schema accepts the spec: ${ajv.errorsText()}`);
    assert.deepStrictEqual(
      api.distill.checker.problems(vscode.Uri.file(specFile)).filter((d) => d.severity === vscode.DiagnosticSeverity.Error),
      [],
      'no problem marked in the editor',
    );
  });

  it('the wizard takes a PyTorch factory student and refuses what cannot work (a missing function, alpha without labels, pair knowledge without an ONNX student)', async function () {
    this.timeout(120000);
    fs.writeFileSync(
      path.join(dir(), 'student.py'),
      'import torch\n\n\ndef build():\n    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))\n',
    );
    const a = new Answerer(api);
    const running = vscode.commands.executeCommand<string | undefined>('onnxCompress.setUpDistillation');
    await a.pick(/^Teacher/, [/^fashion_cnn\.onnx$/]);
    await a.pick(/^Student/, [/PyTorch factory/]);
    const factory = await a.shown(/^PyTorch factory/);
    assert.ok(!isQuickPick(factory));
    factory.value = 'distill/student.py:make';
    await settle();
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await waitFor('the missing function to be named', () => /no top-level function make/.test(factory.validationMessage?.toString() ?? ''));
    await a.type(/^PyTorch factory/, 'distill/student.py:build');
    await a.typedPath(/^Training data/, `${FASHION}/train-images-idx3-ubyte.gz`);
    await a.pick(/^Training labels/, [/^No labels/]);
    await a.type(/^Training samples/, '');
    await a.pick(/^Evaluation data/, [/^No evaluation data/]);
    const kinds = await a.shown(/^Knowledge/);
    assert.ok(isQuickPick(kinds));
    assert.match(kinds.items.find((i) => i.label === 'feature')!.description ?? '', /needs an ONNX student/);
    await a.pick(/^Knowledge/, [/^response$/]);
    await a.pick(/^Response knowledge/, [/^soft$/]);
    await a.type(/^Temperature/, '2');
    const alpha = await a.shown(/^alpha must be 0 without labels/);
    assert.ok(!isQuickPick(alpha));
    alpha.value = '0.5';
    await settle();
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await waitFor('alpha to be refused', () => /No training labels/.test(alpha.validationMessage?.toString() ?? ''));
    await a.type(/^alpha/, '0');
    await a.type(/^Weight of the response/, '1');
    await a.pick(/^Scheme/, [/^online$/]);
    await a.type(/^Epochs/, '1');
    await a.type(/^Batch size/, '64');
    await a.type(/^Learning rate/, '0.001');
    await a.pick(/^Device/, [/^auto$/]);
    await a.type(/^Name of the spec/, 'factory-online');
    const file = (await running)!;
    const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepStrictEqual(spec.student, { factory: 'distill/student.py:build' });
    assert.deepStrictEqual(spec.knowledge, [{ type: 'response', weight: 1, temperature: 2, alpha: 0, target: 'soft' }]);
    assert.deepStrictEqual(spec.scheme, { kind: 'online' });
    assert.strictEqual(spec.data.train.labels, null);
    assert.strictEqual(spec.data.eval, null);
    const validation = await validateSpec(file);
    assert.deepStrictEqual(
      validation.problems.filter((p) => p.severity === 'error'),
      [],
      'the engine accepts it',
    );
  });

  it('a run streams its events into the run view and ends with a verified ONNX student', async function () {
    this.timeout(300000);
    assert.ok(specFile, 'the wizard test wrote the spec');
    const outcome = await vscode.commands.executeCommand<StartOutcome | undefined>('onnxCompress.startDistillation', vscode.Uri.file(specFile));
    assert.ok(isReport(outcome), `the run started: ${JSON.stringify(outcome)}`);
    assert.strictEqual(outcome.status, 'completed', `the run completed: ${outcome.message}`);
    completed = outcome;
    const runDir = outcome.paths.runDir;
    assert.strictEqual(path.dirname(runDir), path.join(workspace(), 'distill-runs'));
    assert.ok(fs.existsSync(path.join(runDir, RUN_LAYOUT.student)), 'student.onnx written');
    const v = outcome.verification!;
    assert.ok(v.loads && v.accuracy !== null && v.accuracy > 0.7, `the student is accurate on held-out images (${v.accuracy})`);

    const lines = fs
      .readFileSync(path.join(runDir, RUN_LAYOUT.metrics), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const start = lines.find((e) => e.event === 'start');
    assert.ok(start, 'the trainer started');
    const status = await waitFor('the run view to draw the whole run', () => {
      const s = api.distill.runView(runDir);
      return s?.drawn && s.drawn.steps === start.epochs * start.stepsPerEpoch && s.state === 'completed' ? s : undefined;
    });
    assert.ok(status.ready && status.posted >= lines.length, `every recorded event reached the view (${status.posted} of ${lines.length})`);
    assert.strictEqual(status.drawn!.epochs, 1);
    assert.strictEqual(status.drawn!.eta, '0s', 'nothing left at the end');
    assert.strictEqual(status.lastRejected, null, 'the view sent nothing invalid');
    await vscode.commands.executeCommand('notifications.clearAll');
    await new Promise((r) => setTimeout(r, 500));
    console.log('__SCREENSHOT__ vscode-distill-run');
    await new Promise((r) => setTimeout(r, 1500));
  });

  it('the Runs tree lists the run with its status and accuracy, and its files', async () => {
    assert.ok(completed, 'the run test completed a run');
    await vscode.commands.executeCommand('onnxCompress.runs.focus');
    const roots = await api.distill.runs.getChildren();
    const run = roots.find((r): r is Extract<RunsItem, { kind: 'run' }> => r.kind === 'run' && r.run.runDir === completed.paths.runDir);
    assert.ok(run, `the run is listed: ${roots.map((r) => r.run.runDir).join(', ')}`);
    const item = api.distill.runs.getTreeItem(run);
    assert.match(String(item.description), new RegExp(`^completed · ${(completed.verification!.accuracy! * 100).toFixed(2)}%`));
    assert.strictEqual(item.contextValue, 'distillRun.completed');
    const files = (await api.distill.runs.getChildren(run)).map((c) => (c.kind === 'file' ? c.label : ''));
    for (const f of ['spec', 'student', 'report', 'log']) assert.ok(files.includes(f), `${f} under the run: ${files}`);
  });

  it('"Quantize This Student" continues into the quantize flow, which quantizes the distilled student', async function () {
    this.timeout(240000);
    assert.ok(completed, 'the run test completed a run');
    const student = path.join(completed.paths.runDir, RUN_LAYOUT.student);
    const flow = api.distill.controller.act('quantize', completed.paths.runDir) as Promise<QuantizeOutcome | undefined>;
    // The quantize wizard, answered as a user would: the recommended preset, 128 real images, no layer kept in float, the default output.
    const answerStep = async (step: number, pick: { labels?: RegExp[]; value?: string }) => {
      const qp = await waitFor(`quantize step ${step}`, () =>
        api.quantize.flow.activeQuickPick?.step === step ? api.quantize.flow.activeQuickPick : undefined,
      );
      if (step === 1) assert.match(qp.title ?? '', /student\.onnx/, 'the quantize wizard is on the student');
      if (pick.value !== undefined) qp.value = pick.value;
      const items = (pick.labels ?? []).map((re) => qp.items.find((i) => re.test(i.label))!);
      if (items.length) qp.activeItems = items;
      await settle();
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      await waitFor(`quantize step ${step} to close`, () => api.quantize.flow.activeQuickPick !== qp);
    };
    await answerStep(1, { labels: [/^Static INT8 for CNNs/] });
    await answerStep(2, { value: path.join(workspace(), 'fashion-calib.npy') });
    await answerStep(3, { labels: [/^All 128 samples/] });
    await answerStep(4, { labels: [/No labels/] });
    await answerStep(5, {});
    await answerStep(6, { labels: [/student\.int8\.onnx/] });
    const outcome = await flow;
    assert.ok(outcome?.status === 'done', `quantized: ${JSON.stringify(outcome && 'message' in outcome ? outcome.message : outcome?.status)}`);
    assert.strictEqual(outcome.output, student.replace(/\.onnx$/, '.int8.onnx'));
    assert.ok(fs.existsSync(outcome.output), 'the quantized student is written beside it');
  });

  it('a cancelled run keeps a checkpoint, is offered for resume, and resumes to a student', async function () {
    this.timeout(300000);
    // Long enough to be closed, reopened and cancelled mid-run: one epoch trains in about a second with OpenBLAS.
    const longSpec = specFile.replace(/\.distill\.json$/, '-long.distill.json');
    fs.writeFileSync(longSpec, JSON.stringify({ ...JSON.parse(fs.readFileSync(specFile, 'utf8')), epochs: 40 }, null, 2));
    const running = vscode.commands.executeCommand<StartOutcome | undefined>('onnxCompress.startDistillation', vscode.Uri.file(longSpec));
    const runDir = await waitFor('a run to start', () => api.distill.controller.running[0]);
    await waitFor('training steps in the view', () => (api.distill.runView(runDir)?.drawn?.steps ?? 0) >= 3, 120000);
    // Closed and reopened mid-run, the view replays what the run recorded and keeps streaming.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await waitFor('the view to close', () => api.distill.runView(runDir) === undefined);
    await vscode.commands.executeCommand('onnxCompress.openDistillRun', runDir);
    await waitFor('the reopened view to replay the run', () => {
      const v = api.distill.runView(runDir);
      return v?.ready && v.state === 'running' && (v.drawn?.steps ?? 0) >= 3;
    });
    await vscode.commands.executeCommand('onnxCompress.cancelDistillation', runDir);
    const cancelled = await running;
    assert.ok(
      isReport(cancelled) && cancelled.status === 'cancelled',
      `cancelled: ${JSON.stringify(cancelled && 'status' in cancelled ? cancelled.message : cancelled)}`,
    );
    assert.ok(cancelled.checkpoint && fs.existsSync(cancelled.checkpoint), `a checkpoint was written (${cancelled.checkpoint})`);
    assert.strictEqual(api.distill.runView(runDir)?.state, 'cancelled');
    const item = (await api.distill.runs.getChildren()).find((r) => r.run.runDir === runDir)!;
    assert.strictEqual(api.distill.runs.getTreeItem(item).contextValue, 'distillRun.cancelled.resumable', 'the tree offers Resume');

    const resumed = await vscode.commands.executeCommand<StartOutcome | undefined>('onnxCompress.resumeDistillation', item);
    assert.ok(isReport(resumed), `resumed: ${JSON.stringify(resumed)}`);
    assert.strictEqual(resumed.status, 'completed', `the resumed run completed: ${resumed.message}`);
    assert.strictEqual(resumed.paths.runDir, runDir, 'in the same folder');
    assert.ok(resumed.resumedFrom, 'the report says where it resumed from');
  });

  it('without a usable Python the run is refused, saying what is missing and which setting to change', async () => {
    const missing = path.join(workspace(), 'no-such-python3');
    await setPython(missing);
    try {
      const outcome = await vscode.commands.executeCommand<StartOutcome | undefined>('onnxCompress.startDistillation', vscode.Uri.file(specFile));
      assert.ok(outcome && 'refused' in outcome, `refused: ${JSON.stringify(outcome)}`);
      const refusal = outcome as Refusal;
      assert.strictEqual(refusal.refused, 'python');
      assert.ok(refusal.message.includes(missing), refusal.message);
      assert.match(refusal.message, /onnxCompress\.distill\.pythonPath/);
      assert.strictEqual(api.distill.controller.running.length, 0, 'nothing runs');
    } finally {
      await setPython(PYTHON);
    }
  });

  it('a spec with a wrong tensor name is refused, the problem marked at its field', async () => {
    const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
    spec.knowledge[1].pairs[0].teacher = '/Relu_9_output_0';
    const bad = path.join(workspace(), 'bad-name.distill.json');
    fs.writeFileSync(bad, JSON.stringify(spec, null, 2));
    const runsBefore = runFolders();
    const outcome = await vscode.commands.executeCommand<StartOutcome | undefined>('onnxCompress.startDistillation', vscode.Uri.file(bad));
    assert.ok(outcome && 'refused' in outcome && outcome.refused === 'spec', `refused: ${JSON.stringify(outcome)}`);
    assert.match(outcome.message, /knowledge\[1\]\.pairs\[0\]\.teacher/);
    const problems = api.distill.checker.problems(vscode.Uri.file(bad));
    const marked = problems.find((d) => /Relu_9/.test(d.message));
    assert.ok(marked, `a problem names the tensor: ${problems.map((d) => d.message).join(' | ')}`);
    const line = fs
      .readFileSync(bad, 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('/Relu_9_output_0'));
    assert.strictEqual(marked.range.start.line, line, 'marked on the line of the wrong name');
    assert.deepStrictEqual(runFolders(), runsBefore, 'no run folder was made for it');
  });
});
