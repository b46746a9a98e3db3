// The distillation wizard's other steps: teacher, student, data and labels, the scheme (with its
// assistant or self-distillation questions), the training settings and the spec's name.
import * as fs from 'fs';
import * as path from 'path';
import { DISTILL_DEFAULTS, DISTILL_SPEC_SUFFIX, type DeviceName, type SchemeSpec } from '../../shared/distillSpec';
import { readModel } from '../../core/onnx/model';
import { isQuantizedModel } from '../../core/quant/detect';
import { addPairSteps } from './knowledgeSteps';
import {
  abs,
  existingFile,
  item,
  loadTensors,
  numberCheck,
  numberStep,
  pickData,
  pickModel,
  rel,
  workspaceFiles,
  type Item,
  type State,
  type Step,
} from './wizardAnswers';

/** Models of the workspace that are quantized already: they have no float weights to train. */
async function quantizedModels(s: State): Promise<string[]> {
  const models = await workspaceFiles(s, '**/*.onnx');
  const quantized = await Promise.all(models.map((m) => readModel(m).then(isQuantizedModel, () => false)));
  return models.filter((_, i) => quantized[i]);
}

const teacherStep: Step = {
  id: 'teacher',
  ask: async (ui, s) => {
    s.teacher = await pickModel(ui, s, 'Teacher: the trained ONNX model that teaches', []);
    s.teacherTensors = undefined;
  },
};

const studentStep: Step = {
  id: 'student',
  ask: async (ui, s) => {
    const model = await pickModel(
      ui,
      s,
      'Student: the smaller model that learns (ONNX, or a PyTorch factory)',
      [s.teacher!, ...(await quantizedModels(s))],
      [item('$(symbol-method) PyTorch factory (file.py:function)...', '#factory', 'a Python function returning a torch.nn.Module')],
      'models/student.onnx',
    );
    if (model !== '#factory') {
      s.student = { model: rel(s, model) };
      s.studentTensors = undefined;
      return;
    }
    const typed = await ui.input({
      prompt: 'PyTorch factory: path/to/file.py:function (the function returns a torch.nn.Module)',
      value: '',
      placeholder: 'student.py:build',
      validate: (v) => {
        const m = /^(.+\.py):([A-Za-z_][A-Za-z0-9_]*)$/.exec(v.trim());
        if (!m) return 'Write it as file.py:function, e.g. models/student.py:build.';
        const missing = existingFile(s, m[1]);
        if (missing) return missing;
        const source = fs.readFileSync(abs(s, m[1]), 'utf8');
        return new RegExp(`^def\\s+${m[2]}\\s*\\(`, 'm').test(source) ? undefined : `${m[1]} has no top-level function ${m[2]}.`;
      },
    });
    const [file, fn] = typed.trim().split(/:(?=[^:]+$)/);
    s.student = { factory: `${rel(s, abs(s, file))}:${fn}` };
    s.studentTensors = [];
  },
};

const NO_LABELS = "No labels (the teacher's outputs are the only targets)";

const dataSteps: Step[] = [
  {
    id: 'train',
    ask: async (ui, s) => {
      s.train = (await pickData(ui, s, 'Training data: inputs of the teacher (one sample per row of the first axis)', {}))!;
    },
  },
  {
    id: 'trainLabels',
    ask: async (ui, s) => {
      s.trainLabels = await pickData(ui, s, 'Training labels: integer classes, one per sample', { none: NO_LABELS, labels: true });
    },
  },
  {
    id: 'trainSamples',
    ask: async (ui, s) => {
      const v = await ui.input({
        prompt: 'Training samples to use (empty: all of them)',
        value: s.trainSamples ? String(s.trainSamples) : '',
        validate: (x) => (x.trim() === '' ? undefined : numberCheck(1, Number.MAX_SAFE_INTEGER, true)(x)),
      });
      s.trainSamples = v.trim() === '' ? null : Number(v);
    },
  },
  {
    id: 'eval',
    ask: async (ui, s) => {
      s.eval = await pickData(ui, s, 'Evaluation data: held-out inputs for per-epoch accuracy and the final check', { none: 'No evaluation data' });
      if (s.eval === null) s.evalLabels = null;
    },
  },
  {
    id: 'evalLabels',
    when: (s) => s.eval !== null,
    ask: async (ui, s) => {
      s.evalLabels = await pickData(ui, s, 'Evaluation labels: integer classes, one per sample', { none: NO_LABELS, labels: true });
    },
  },
];

const isSelf = (mode: 'snapshot' | 'auxiliary') => (s: State) => s.scheme.kind === 'self' && s.scheme.mode === mode;

const schemeSteps: Step[] = [
  {
    id: 'scheme',
    ask: async (ui, s) => {
      const picked = await ui.pick<Item<SchemeSpec['kind']>>({
        placeholder: 'Scheme: how teacher and student train',
        items: [
          item('offline', 'offline' as const, 'frozen teacher, its knowledge cached once (fastest)'),
          item('online', 'online' as const, 'teacher and student train together (mutual learning)'),
          item('self', 'self' as const, 'the student teaches itself: a snapshot, or deep layers teaching shallow ones'),
          item('teacher assistant', 'assistant' as const, 'a chain teacher → assistant → student, for a large capacity gap'),
        ],
      });
      s.scheme = { kind: picked.value };
    },
  },
  {
    id: 'assistant',
    when: (s) => s.scheme.kind === 'assistant',
    ask: async (ui, s) => {
      const model = await pickModel(ui, s, 'Teacher assistant: an intermediate-size ONNX model', [s.teacher!]);
      s.scheme = { kind: 'assistant', assistants: [{ model: rel(s, model) }] };
    },
  },
  {
    id: 'self',
    when: (s) => s.scheme.kind === 'self',
    ask: async (ui, s) => {
      const mode = await ui.pick<Item<'snapshot' | 'auxiliary'>>({
        placeholder: 'Self distillation: who teaches',
        items: [
          item('snapshot', 'snapshot' as const, 'a frozen earlier copy of the student, refreshed every N epochs'),
          item('auxiliary', 'auxiliary' as const, 'deep tensors of the student teach shallower ones'),
        ],
      });
      s.scheme = { kind: 'self', mode: mode.value };
      if (mode.value === 'auxiliary') await loadTensors(s);
    },
  },
  numberStep(
    'self.every',
    () => 'Refresh the snapshot every N epochs',
    () => DISTILL_DEFAULTS.snapshotEvery,
    numberCheck(1, 10000, true),
    (s, every) => {
      s.scheme = { kind: 'self', mode: 'snapshot', every };
    },
    isSelf('snapshot'),
  ),
  ...addPairSteps('auxiliary', isSelf('auxiliary'), (s) => {
    s.scheme = { kind: 'self', mode: 'auxiliary', pairs: s.pairs.auxiliary ?? [] };
  }),
];

const trainingSteps: Step[] = [
  numberStep(
    'epochs',
    () => 'Epochs',
    (s) => s.epochs,
    numberCheck(1, 100000, true),
    (s, n) => {
      s.epochs = n;
    },
  ),
  numberStep(
    'batchSize',
    () => 'Batch size',
    (s) => s.batchSize,
    numberCheck(1, 1 << 20, true),
    (s, n) => {
      s.batchSize = n;
    },
  ),
  numberStep(
    'lr',
    () => `Learning rate (${DISTILL_DEFAULTS.optimizer.name}, ${DISTILL_DEFAULTS.schedule.name} schedule)`,
    (s) => s.lr,
    numberCheck(0, 10, false, true),
    (s, n) => {
      s.lr = n;
    },
  ),
  {
    id: 'device',
    ask: async (ui, s) => {
      const devices = [
        item('auto', 'auto' as DeviceName, 'CUDA when the interpreter sees a GPU, else the CPU'),
        item('cpu', 'cpu' as DeviceName, 'the CPU'),
        item('cuda', 'cuda' as DeviceName, 'an NVIDIA GPU (the run refuses to start without one)'),
      ];
      s.device = (
        await ui.pick<Item<DeviceName>>({ placeholder: 'Device the trainer uses', items: devices, selected: devices.filter((x) => x.value === s.device) })
      ).value;
    },
  },
];

const nameStep: Step = {
  id: 'name',
  ask: async (ui, s) => {
    const stem = (p: string) => path.basename(p).replace(/\.(onnx|py)(:.*)?$/i, '');
    const student = s.student && 'model' in s.student ? s.student.model : (s.student as { factory: string }).factory.split(':')[0];
    const suggestion = `${stem(student)}-from-${stem(s.teacher!)}`.replace(/[^A-Za-z0-9._-]+/g, '-');
    const name = await ui.input({
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
  },
};

/** The steps before the knowledge: the models and the data. */
export const MODEL_AND_DATA_STEPS: Step[] = [teacherStep, studentStep, ...dataSteps];
/** The steps after the knowledge: the scheme, training and the name. */
export const SCHEME_AND_TRAINING_STEPS: Step[] = [...schemeSteps, ...trainingSteps, nameStep];
