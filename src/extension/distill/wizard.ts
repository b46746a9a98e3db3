// "ONNX: Set Up Distillation...": a multi-step QuickPick that asks for the teacher, the student,
// the data, the knowledge to transfer (with each loss's parameters and, for feature knowledge,
// tensor pairs picked from both models' real tensors), the scheme and the training settings, then
// writes `NAME.distill.json` and opens it. The spec file is the form: nothing here is a webview.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { chooseAdapter, listTensors, proposePairs, type TensorInfo } from '../../core/distill';
import {
  DISTILL_DEFAULTS, DISTILL_SPEC_FORMAT, DISTILL_SPEC_SUFFIX, KNOWLEDGE_FORMULAS,
  type DataSplitSpec, type DeviceName, type DistillSpec, type FeatureSimilarity, type KnowledgeSpec, type KnowledgeType,
  type ResponseTarget, type SchemeSpec, type StudentSpec, type TensorPairSpec,
} from '../../shared/distillSpec';
import { RUNS_FOLDER } from '../../shared/distillRun';
import { formatShape } from '../../shared/format';
import { MultiStep, type LiveInput, type Step } from './multiStep';
import type { SpecChecker } from './specProblems';
import { jsonText, writeFileAtomic } from '../../core/files';
import { readModel } from '../../core/onnx/model';
import { isQuantizedModel } from '../../core/quant/detect';

type PairKind = 'feature' | 'attention' | 'similarity' | 'auxiliary';

interface State {
  folder: string;
  teacher?: string;
  teacherTensors?: TensorInfo[];
  student?: StudentSpec;
  studentTensors?: TensorInfo[];
  train?: string;
  trainLabels?: string | null;
  trainSamples?: number | null;
  eval?: string | null;
  evalLabels?: string | null;
  types: KnowledgeType[];
  knowledge: Partial<Record<KnowledgeType, KnowledgeSpec>>;
  /** Pairs chosen per pair kind, and pairs the user added beyond the proposed ones. */
  pairs: Partial<Record<PairKind, TensorPairSpec[]>>;
  extraPairs: Partial<Record<PairKind, TensorPairSpec[]>>;
  scheme: SchemeSpec;
  epochs: number;
  batchSize: number;
  lr: number;
  device: DeviceName;
  name?: string;
}

const TITLE = 'Set Up Distillation';
const IGNORED = `**/{node_modules,${RUNS_FOLDER},${DISTILL_DEFAULTS.cacheDir},.git}/**`;

interface Item<V> extends vscode.QuickPickItem { value: V }

const item = <V>(label: string, value: V, description?: string, detail?: string, picked?: boolean): Item<V> => ({ label, value, description, detail, picked });

/** A number in [min, max] typed in a box, with the reason it is refused. */
function numberCheck(min: number, max: number, integer = false, exclusiveMin = false) {
  return (v: string): string | undefined => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n)) return 'Type a number.';
    if (integer && !Number.isInteger(n)) return 'Type a whole number.';
    if (exclusiveMin ? n <= min : n < min) return `Must be ${exclusiveMin ? 'greater than' : 'at least'} ${min}.`;
    if (n > max) return `Must be at most ${max}.`;
    return undefined;
  };
}

/** Questions asked one per step (each with its own step number, Back returning to the one before), then `then`. */
function sequence(questions: Array<(f: MultiStep) => Promise<void>>, then: () => Step<State>): Step<State> {
  if (!questions.length) return then();
  const [first, ...rest] = questions;
  return async (f) => {
    await first(f);
    return sequence(rest, then);
  };
}

const shapeText = (t: TensorInfo) => `${t.dtype ?? '?'} ${formatShape(t.shape)}`;

export class DistillWizard {
  /** The QuickPick or InputBox the wizard shows now (published for the extension's tests). */
  live: LiveInput | undefined;
  private readonly changed = new vscode.EventEmitter<LiveInput | undefined>();
  readonly onDidChangeLive = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel, private readonly checker: SpecChecker) {}

  /** Runs the wizard; resolves to the spec file written, or undefined when the user closed it. */
  async run(folder: string): Promise<string | undefined> {
    const state: State = {
      folder, types: [], knowledge: {}, pairs: {}, extraPairs: {}, scheme: { kind: 'offline' },
      epochs: DISTILL_DEFAULTS.epochs, batchSize: DISTILL_DEFAULTS.batchSize, lr: DISTILL_DEFAULTS.optimizer.lr, device: DISTILL_DEFAULTS.device,
    };
    const flow = new MultiStep(TITLE, () => this.totalSteps(state), (input) => {
      this.live = input;
      this.changed.fire(input);
    });
    if (!(await flow.run<State>((f, s) => this.teacherStep(f, s), state))) return undefined;
    return this.write(state);
  }

  private totalSteps(s: State): number {
    const params: Record<KnowledgeType, number> = { response: 4, feature: 3, attention: 2, relation: 3, similarity: 2 };
    const scheme = s.scheme.kind === 'self' ? 2 : s.scheme.kind === 'assistant' ? 1 : 0;
    return 8 + s.types.reduce((n, t) => n + params[t], 0) + 1 + scheme + 4 + 1;
  }

  // --- models ---

  private async workspaceFiles(s: State, glob: string): Promise<string[]> {
    const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(vscode.Uri.file(s.folder), glob), IGNORED, 500);
    return uris.map((u) => u.fsPath).sort();
  }

  private rel(s: State, file: string): string {
    const r = path.relative(s.folder, file);
    return r.startsWith('..') || path.isAbsolute(r) ? file : r.split(path.sep).join('/');
  }

  private abs(s: State, p: string): string {
    return path.isAbsolute(p) ? p : path.join(s.folder, p);
  }

  /** A model from the workspace's .onnx files, a browse dialog or a typed path. */
  private async pickModel(f: MultiStep, s: State, placeholder: string, exclude: string[], extra: Array<Item<string>> = [], example = 'models/teacher.onnx'): Promise<string> {
    const models = (await this.workspaceFiles(s, '**/*.onnx')).filter((m) => !exclude.includes(m));
    const picked = await f.pick<Item<string>>({
      placeholder,
      items: [
        ...models.map((m) => item(path.basename(m), m, this.rel(s, path.dirname(m)) || '.')),
        ...extra,
        item('$(folder-opened) Browse...', '#browse', 'an .onnx file outside the workspace'),
        item('$(edit) Type a path...', '#type', 'absolute, or relative to the workspace folder'),
      ],
    });
    if (picked.value === '#browse') {
      const uri = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, title: placeholder });
      if (!uri?.[0]) return this.pickModel(f, s, placeholder, exclude, extra, example);
      return uri[0].fsPath;
    }
    if (picked.value === '#type') {
      const typed = await f.input({ prompt: placeholder, value: '', placeholder: example, validate: (v) => this.existingFile(s, v, '.onnx') });
      return this.abs(s, typed.trim());
    }
    return picked.value;
  }

  private existingFile(s: State, v: string, ext?: string): string | undefined {
    const p = v.trim();
    if (!p) return 'Type a path.';
    const file = this.abs(s, p);
    if (!fs.existsSync(file)) return `${file} does not exist.`;
    if (ext && !file.toLowerCase().endsWith(ext)) return `Expected a ${ext} file.`;
    return undefined;
  }

  private async tensorsOf(model: string): Promise<TensorInfo[]> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Reading the tensors of ${path.basename(model)}` }, () => listTensors(model));
  }

  private async teacherStep(f: MultiStep, s: State): Promise<Step<State>> {
    s.teacher = await this.pickModel(f, s, 'Teacher: the trained ONNX model that teaches', []);
    s.teacherTensors = undefined;
    return (f2, s2) => this.studentStep(f2, s2);
  }

  /** Models of the workspace that are quantized already: they have no float weights to train. */
  private async quantizedModels(s: State): Promise<string[]> {
    const models = await this.workspaceFiles(s, '**/*.onnx');
    const quantized = await Promise.all(models.map((m) => readModel(m).then(isQuantizedModel, () => false)));
    return models.filter((_, i) => quantized[i]);
  }

  private async studentStep(f: MultiStep, s: State): Promise<Step<State>> {
    const model = await this.pickModel(f, s, 'Student: the smaller model that learns (ONNX, or a PyTorch factory)', [s.teacher!, ...(await this.quantizedModels(s))], [
      item('$(symbol-method) PyTorch factory (file.py:function)...', '#factory', 'a Python function returning a torch.nn.Module'),
    ], 'models/student.onnx');
    if (model === '#factory') {
      const typed = await f.input({
        prompt: 'PyTorch factory: path/to/file.py:function (the function returns a torch.nn.Module)',
        value: '', placeholder: 'student.py:build',
        validate: (v) => {
          const m = /^(.+\.py):([A-Za-z_][A-Za-z0-9_]*)$/.exec(v.trim());
          if (!m) return 'Write it as file.py:function, e.g. models/student.py:build.';
          const missing = this.existingFile(s, m[1]);
          if (missing) return missing;
          const source = fs.readFileSync(this.abs(s, m[1]), 'utf8');
          return new RegExp(`^def\\s+${m[2]}\\s*\\(`, 'm').test(source) ? undefined : `${m[1]} has no top-level function ${m[2]}.`;
        },
      });
      const [file, fn] = typed.trim().split(/:(?=[^:]+$)/);
      s.student = { factory: `${this.rel(s, this.abs(s, file))}:${fn}` };
      s.studentTensors = [];
    } else {
      s.student = { model: this.rel(s, model) };
      s.studentTensors = undefined;
    }
    return (f2, s2) => this.dataStep(f2, s2, 'train');
  }

  // --- data ---

  private async pickData(f: MultiStep, s: State, placeholder: string, options: { none?: string; labels?: boolean }): Promise<string | null> {
    const files = options.labels
      ? await this.workspaceFiles(s, '**/{*.npy,*-idx1-ubyte,*-idx1-ubyte.gz,*.idx1}')
      : await this.workspaceFiles(s, '**/{*.npy,*.npz,*-idx3-ubyte,*-idx3-ubyte.gz,*.idx3}');
    const picked = await f.pick<Item<string | null>>({
      placeholder,
      items: [
        ...(options.none ? [item(options.none, null)] : []),
        ...files.map((p) => item(path.basename(p), p as string | null, this.rel(s, path.dirname(p)) || '.')),
        item('$(folder-opened) Browse...', '#browse', options.labels ? 'a .npy or IDX labels file' : 'a file or a folder (images, .npz, .npy, .pb, IDX)'),
        item('$(edit) Type a path...', '#type', 'absolute, or relative to the workspace folder'),
      ],
    });
    if (picked.value === '#browse') {
      const uri = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFolders: !options.labels, canSelectFiles: true, title: placeholder });
      return uri?.[0] ? uri[0].fsPath : this.pickData(f, s, placeholder, options);
    }
    if (picked.value === '#type') {
      const typed = await f.input({ prompt: placeholder, value: '', placeholder: '/data/train-images-idx3-ubyte.gz', validate: (v) => this.existingFile(s, v) });
      return this.abs(s, typed.trim());
    }
    return picked.value;
  }

  private async dataStep(f: MultiStep, s: State, split: 'train' | 'eval'): Promise<Step<State>> {
    if (split === 'train') {
      s.train = (await this.pickData(f, s, 'Training data: inputs of the teacher (one sample per row of the first axis)', {}))!;
      return (f2, s2) => this.labelsStep(f2, s2, 'train');
    }
    s.eval = await this.pickData(f, s, 'Evaluation data: held-out inputs for per-epoch accuracy and the final check', { none: 'No evaluation data' });
    if (s.eval === null) {
      s.evalLabels = null;
      return (f2, s2) => this.knowledgeStep(f2, s2);
    }
    return (f2, s2) => this.labelsStep(f2, s2, 'eval');
  }

  private async labelsStep(f: MultiStep, s: State, split: 'train' | 'eval'): Promise<Step<State>> {
    const labels = await this.pickData(f, s, `${split === 'train' ? 'Training' : 'Evaluation'} labels: integer classes, one per sample`, { none: 'No labels (the teacher\'s outputs are the only targets)', labels: true });
    if (split === 'eval') {
      s.evalLabels = labels;
      return (f2, s2) => this.knowledgeStep(f2, s2);
    }
    s.trainLabels = labels;
    return (f2, s2) => this.samplesStep(f2, s2);
  }

  private async samplesStep(f: MultiStep, s: State): Promise<Step<State>> {
    const v = await f.input({
      prompt: 'Training samples to use (empty: all of them)', value: s.trainSamples ? String(s.trainSamples) : '',
      validate: (x) => (x.trim() === '' ? undefined : numberCheck(1, Number.MAX_SAFE_INTEGER, true)(x)),
    });
    s.trainSamples = v.trim() === '' ? null : Number(v);
    return (f2, s2) => this.dataStep(f2, s2, 'eval');
  }

  // --- knowledge ---

  private async knowledgeStep(f: MultiStep, s: State): Promise<Step<State> | undefined> {
    const factory = s.student && 'factory' in s.student;
    const blurb: Record<KnowledgeType, string> = {
      response: 'Hinton KD on the logits (soft targets, logit MSE or hard targets)',
      feature: 'FitNets hints between intermediate tensors, adapters where shapes differ',
      attention: 'attention transfer between feature maps',
      relation: 'RKD: distances and angles between samples\' embeddings',
      similarity: 'similarity-preserving: the batch\'s Gram matrices',
    };
    const needsTensors: KnowledgeType[] = ['feature', 'attention', 'similarity'];
    const types = Object.keys(KNOWLEDGE_FORMULAS) as KnowledgeType[];
    const items = types.map((t) => item(t, t, blurb[t] + (factory && needsTensors.includes(t) ? ' (needs an ONNX student)' : ''), KNOWLEDGE_FORMULAS[t], s.types.length ? s.types.includes(t) : t === 'response'));
    const picked = await f.pick<Item<KnowledgeType>>({
      placeholder: 'Knowledge to transfer (pick one or more; each line shows its loss)',
      items, canSelectMany: true, matchOnDetail: true,
      selected: items.filter((i) => i.picked),
      validateMany: (sel) => {
        if (!sel.length) return 'pick at least one kind of knowledge';
        const bad = factory ? sel.find((x) => needsTensors.includes(x.value)) : undefined;
        return bad ? `${bad.value} knowledge needs the student's tensor names: use an ONNX student` : undefined;
      },
    });
    s.types = types.filter((t) => picked.some((p) => p.value === t));
    return this.nextKnowledge(s, -1);
  }

  private nextKnowledge(s: State, index: number): Step<State> {
    const next = index + 1;
    if (next >= s.types.length) return (f, st) => this.schemeStep(f, st);
    const type = s.types[next];
    const done = () => this.nextKnowledge(s, next);
    switch (type) {
      case 'response': return (f, st) => this.responseSteps(f, st, done);
      case 'relation': return (f, st) => this.relationSteps(f, st, done);
      default: return (f, st) => this.pairsStep(f, st, type, () => (f2, st2) => this.pairedParams(f2, st2, type, done));
    }
  }

  private async weightStep(f: MultiStep, k: KnowledgeSpec, fallback: number): Promise<void> {
    const v = await f.input({ prompt: `Weight of the ${k.type} term in the total loss`, value: String(k.weight ?? fallback), validate: numberCheck(0, 1e9, false, true) });
    k.weight = Number(v);
  }

  private async responseSteps(f: MultiStep, s: State, done: () => Step<State>): Promise<Step<State>> {
    const d = DISTILL_DEFAULTS.response;
    const k = (s.knowledge.response ?? { type: 'response', ...d }) as Extract<KnowledgeSpec, { type: 'response' }>;
    s.knowledge.response = k;
    const targets = [
      item('soft', 'soft' as ResponseTarget, 'KL on softened distributions (Hinton KD, T^2 applied)', KNOWLEDGE_FORMULAS.response),
      item('logits', 'logits' as ResponseTarget, 'MSE between the logits'),
      item('hard', 'hard' as ResponseTarget, 'CE with the teacher\'s argmax as the label'),
    ];
    const target = await f.pick<Item<ResponseTarget>>({
      placeholder: 'Response knowledge: what the student matches',
      items: targets,
      selected: targets.filter((t) => t.value === (k.target ?? d.target)),
    });
    k.target = target.value;
    const labels = s.trainLabels !== null && s.trainLabels !== undefined;
    return sequence([
      ...(k.target === 'soft' ? [async (f2: MultiStep) => {
        k.temperature = Number(await f2.input({ prompt: 'Temperature T (softens both distributions; the KL term is scaled by T^2)', value: String(k.temperature ?? d.temperature), validate: numberCheck(0, 100, false, true) }));
      }] : []),
      async (f2) => {
        k.alpha = Number(await f2.input({
          prompt: labels ? 'alpha: weight of the hard-label CE term (1 - alpha weighs the teacher term)' : 'alpha must be 0 without labels (the teacher term alone)',
          value: String(labels ? k.alpha ?? d.alpha : 0),
          validate: (v) => numberCheck(0, 1)(v) ?? (!labels && Number(v) > 0 ? 'No training labels were given: alpha must be 0.' : undefined),
        }));
      },
      (f2) => this.weightStep(f2, k, d.weight),
    ], done);
  }

  private async relationSteps(f: MultiStep, s: State, done: () => Step<State>): Promise<Step<State>> {
    const d = DISTILL_DEFAULTS.relation;
    const k = (s.knowledge.relation ?? { type: 'relation', ...d }) as Extract<KnowledgeSpec, { type: 'relation' }>;
    s.knowledge.relation = k;
    k.distance = Number(await f.input({ prompt: 'RKD lambda_D: weight of the distance term', value: String(k.distance ?? d.distance), validate: numberCheck(0, 1e9) }));
    return sequence([
      async (f2) => {
        k.angle = Number(await f2.input({ prompt: `RKD lambda_A: weight of the angle term (costs B^2 x D per batch; batch ${s.batchSize})`, value: String(k.angle ?? d.angle), validate: numberCheck(0, 1e9) }));
      },
      (f2) => this.weightStep(f2, k, d.weight),
    ], done);
  }

  private async pairedParams(f: MultiStep, s: State, type: 'feature' | 'attention' | 'similarity', done: () => Step<State>): Promise<Step<State>> {
    const d = DISTILL_DEFAULTS[type];
    const k = s.knowledge[type] as Extract<KnowledgeSpec, { type: typeof type }>;
    if (k.type === 'feature') {
      const kinds = [item('mse', 'mse' as FeatureSimilarity, 'squared error (FitNets)'), item('l1', 'l1' as FeatureSimilarity, 'absolute error'), item('cosine', 'cosine' as FeatureSimilarity, '1 - cosine similarity')];
      const sim = await f.pick<Item<FeatureSimilarity>>({
        placeholder: 'Feature knowledge: how the paired tensors are compared',
        items: kinds, selected: kinds.filter((x) => x.value === (k.similarity ?? DISTILL_DEFAULTS.feature.similarity)),
      });
      k.similarity = sim.value;
      return sequence([(f2) => this.weightStep(f2, k, d.weight)], done);
    }
    await this.weightStep(f, k, d.weight);
    return done();
  }

  /** Pairs for a knowledge term: proposed pairs first (picked), pairs added by hand, "add a pair". */
  private async pairsStep(f: MultiStep, s: State, type: 'feature' | 'attention' | 'similarity', next: () => Step<State>): Promise<Step<State>> {
    await this.loadTensors(s);
    const teacher = s.teacherTensors!;
    const student = s.studentTensors!;
    const proposed = proposePairs(teacher, student)
      .filter((p) => type !== 'attention' || chooseAdapter(p.teacherShape, p.studentShape, 'attention').adapter !== null)
      .map((p) => ({ teacher: p.teacher, student: p.student, adapter: 'auto' as const }));
    const extra = s.extraPairs[type] ?? [];
    const all = [...proposed, ...extra.filter((e) => !proposed.some((p) => p.teacher === e.teacher && p.student === e.student))];
    const chosen = s.pairs[type];
    const key = (p: TensorPairSpec) => `${p.teacher}\u0000${p.student}`;
    const items = all.map((p) => {
      const t = teacher.find((x) => x.name === p.teacher);
      const st = student.find((x) => x.name === p.student);
      const choice = chooseAdapter(t?.shape ?? null, st?.shape ?? null, type === 'attention' ? 'attention' : 'feature');
      const isProposed = proposed.some((q) => key(q) === key(p));
      return item(`${p.teacher} → ${p.student}`, p as TensorPairSpec | null,
        `${formatShape(t?.shape ?? null)} ← ${formatShape(st?.shape ?? null)}${isProposed ? ' (proposed)' : ''}`,
        `adapter: ${choice.adapter ?? 'none fits'} (${choice.reason})`,
        chosen ? chosen.some((c) => key(c) === key(p)) : isProposed);
    });
    const add = item('$(add) Add a pair of my choice...', null, 'pick a teacher tensor, then a student tensor');
    const picked = await f.pick<Item<TensorPairSpec | null>>({
      placeholder: `${type} knowledge: tensor pairs (teacher → student), proposed by matching resolution`,
      items: [...items, add], canSelectMany: true, matchOnDetail: true,
      selected: items.filter((i) => i.picked),
      validateMany: (sel) => (sel.length ? undefined : 'pick at least one pair, or "Add a pair of my choice..."'),
    });
    s.pairs[type] = picked.filter((p) => p.value).map((p) => p.value!);
    s.knowledge[type] = { ...(s.knowledge[type] ?? { type, ...DISTILL_DEFAULTS[type] }), type, pairs: s.pairs[type]! } as KnowledgeSpec;
    if (picked.some((p) => p.value === null)) {
      return (f2, s2) => this.addPairSteps(f2, s2, type, () => (f3, s3) => this.pairsStep(f3, s3, type, next));
    }
    return next();
  }

  private async addPairSteps(f: MultiStep, s: State, type: PairKind, back: () => Step<State>): Promise<Step<State>> {
    const fromStudent = type === 'auxiliary';
    const sources = fromStudent ? s.studentTensors! : s.teacherTensors!;
    const usable = (list: TensorInfo[]) => list.filter((t) => t.kind !== 'input' && t.shape);
    const t = await f.pick<Item<TensorInfo>>({
      placeholder: fromStudent ? 'Deep tensor of the student (the teacher side)' : 'Teacher tensor',
      items: usable(sources).map((x) => item(x.name, x, shapeText(x), `${x.opType ?? ''} ${x.producer ?? ''}`.trim())),
      matchOnDetail: true,
    });
    return async (f2, s2) => {
      const st = await f2.pick<Item<TensorInfo>>({
        placeholder: `Student tensor paired with ${t.value.name} ${formatShape(t.value.shape)}`,
        items: usable(s2.studentTensors!).filter((x) => !fromStudent || x.name !== t.value.name).map((x) => {
          const choice = chooseAdapter(t.value.shape, x.shape, type === 'attention' ? 'attention' : 'feature');
          return item(x.name, x, `${shapeText(x)} · adapter ${choice.adapter ?? 'none fits'}`, choice.reason);
        }),
        matchOnDetail: true,
      });
      const pair: TensorPairSpec = { teacher: t.value.name, student: st.value.name, adapter: 'auto' };
      (s2.extraPairs[type] ??= []).push(pair);
      s2.pairs[type] = [...(s2.pairs[type] ?? []), pair];
      return back();
    };
  }

  private async loadTensors(s: State): Promise<void> {
    s.teacherTensors ??= await this.tensorsOf(s.teacher!);
    if (!s.studentTensors && s.student && 'model' in s.student) s.studentTensors = await this.tensorsOf(this.abs(s, s.student.model));
    s.studentTensors ??= [];
  }

  // --- scheme and training ---

  private async schemeStep(f: MultiStep, s: State): Promise<Step<State>> {
    const picked = await f.pick<Item<SchemeSpec['kind']>>({
      placeholder: 'Scheme: how teacher and student train',
      items: [
        item('offline', 'offline' as const, 'frozen teacher, its knowledge cached once (fastest)'),
        item('online', 'online' as const, 'teacher and student train together (mutual learning)'),
        item('self', 'self' as const, 'the student teaches itself: a snapshot, or deep layers teaching shallow ones'),
        item('teacher assistant', 'assistant' as const, 'a chain teacher → assistant → student, for a large capacity gap'),
      ],
    });
    s.scheme = { kind: picked.value };
    if (picked.value === 'self') return (f2, s2) => this.selfStep(f2, s2);
    if (picked.value === 'assistant') {
      return async (f2, s2) => {
        const model = await this.pickModel(f2, s2, 'Teacher assistant: an intermediate-size ONNX model', [s2.teacher!]);
        s2.scheme = { kind: 'assistant', assistants: [{ model: this.rel(s2, model) }] };
        return (f3, s3) => this.trainingSteps(f3, s3);
      };
    }
    return (f2, s2) => this.trainingSteps(f2, s2);
  }

  private async selfStep(f: MultiStep, s: State): Promise<Step<State>> {
    const mode = await f.pick<Item<'snapshot' | 'auxiliary'>>({
      placeholder: 'Self distillation: who teaches',
      items: [
        item('snapshot', 'snapshot' as const, 'a frozen earlier copy of the student, refreshed every N epochs'),
        item('auxiliary', 'auxiliary' as const, 'deep tensors of the student teach shallower ones'),
      ],
    });
    if (mode.value === 'snapshot') {
      return async (f2, s2) => {
        const every = await f2.input({ prompt: 'Refresh the snapshot every N epochs', value: String(DISTILL_DEFAULTS.snapshotEvery), validate: numberCheck(1, 10000, true) });
        s2.scheme = { kind: 'self', mode: 'snapshot', every: Number(every) };
        return (f3, s3) => this.trainingSteps(f3, s3);
      };
    }
    await this.loadTensors(s);
    return (f2, s2) => this.addPairSteps(f2, s2, 'auxiliary', () => {
      s2.scheme = { kind: 'self', mode: 'auxiliary', pairs: s2.pairs.auxiliary ?? [] };
      return (f3, s3) => this.trainingSteps(f3, s3);
    });
  }

  private async trainingSteps(f: MultiStep, s: State): Promise<Step<State>> {
    s.epochs = Number(await f.input({ prompt: 'Epochs', value: String(s.epochs), validate: numberCheck(1, 100000, true) }));
    return sequence([
      async (f2) => {
        s.batchSize = Number(await f2.input({ prompt: 'Batch size', value: String(s.batchSize), validate: numberCheck(1, 1 << 20, true) }));
      },
      async (f2) => {
        s.lr = Number(await f2.input({ prompt: `Learning rate (${DISTILL_DEFAULTS.optimizer.name}, ${DISTILL_DEFAULTS.schedule.name} schedule)`, value: String(s.lr), validate: numberCheck(0, 10, false, true) }));
      },
      async (f2) => {
        const devices = [
          item('auto', 'auto' as DeviceName, 'CUDA when the interpreter sees a GPU, else the CPU'),
          item('cpu', 'cpu' as DeviceName, 'the CPU'),
          item('cuda', 'cuda' as DeviceName, 'an NVIDIA GPU (the run refuses to start without one)'),
        ];
        s.device = (await f2.pick<Item<DeviceName>>({ placeholder: 'Device the trainer uses', items: devices, selected: devices.filter((x) => x.value === s.device) })).value;
      },
    ], () => (f3, s3) => this.nameStep(f3, s3));
  }

  private async nameStep(f: MultiStep, s: State): Promise<undefined> {
    const stem = (p: string) => path.basename(p).replace(/\.(onnx|py)(:.*)?$/i, '');
    const student = s.student && 'model' in s.student ? s.student.model : (s.student as { factory: string }).factory.split(':')[0];
    const suggestion = `${stem(student)}-from-${stem(s.teacher!)}`.replace(/[^A-Za-z0-9._-]+/g, '-');
    const name = await f.input({
      prompt: `Name of the spec: writes NAME${DISTILL_SPEC_SUFFIX} in ${s.folder}`,
      value: s.name ?? suggestion,
      validate: (v) => {
        const n = v.trim();
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(n)) return 'Use letters, digits, dot, dash and underscore.';
        if (fs.existsSync(path.join(s.folder, n + DISTILL_SPEC_SUFFIX))) return `${n}${DISTILL_SPEC_SUFFIX} exists already: choose another name.`;
        return undefined;
      },
    });
    s.name = name.trim();
    return undefined;
  }

  // --- the spec ---

  /** The spec the answers describe (paths relative to the spec's folder where inside it). */
  specOf(s: State): DistillSpec {
    const split = (source: string, labels: string | null | undefined, samples?: number | null): DataSplitSpec => ({
      source: this.rel(s, source), labels: labels ? this.rel(s, labels) : null, ...(samples ? { samples } : {}),
    });
    const knowledge = s.types.map((t) => s.knowledge[t] ?? ({ type: t, ...DISTILL_DEFAULTS[t] } as KnowledgeSpec));
    return {
      format: DISTILL_SPEC_FORMAT,
      version: 1,
      description: `${s.types.join(' + ')} distillation of ${path.basename(s.teacher!)}, set up with the wizard`,
      teacher: { model: this.rel(s, s.teacher!) },
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
