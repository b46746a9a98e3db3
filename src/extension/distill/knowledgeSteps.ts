// The distillation wizard's knowledge steps: which knowledge to transfer, then each kind's
// parameters in the order the kinds are listed; kinds made of tensor pairs offer the pairs
// proposed by matching resolution, and "Add a pair of my choice..." (two more steps, then the
// pairs again). The self scheme's deep-to-shallow pairs are added with the same two steps.
import { chooseAdapter, proposePairs, type TensorInfo } from '../../core/distill';
import {
  DISTILL_DEFAULTS,
  KNOWLEDGE_FORMULAS,
  type FeatureSimilarity,
  type KnowledgeSpec,
  type KnowledgeType,
  type ResponseTarget,
  type TensorPairSpec,
} from '../../shared/distillSpec';
import { formatShape } from '../../shared/format';
import { item, loadTensors, numberCheck, numberStep, type Item, type PairKind, type State, type Step } from './wizardAnswers';

const KINDS = Object.keys(KNOWLEDGE_FORMULAS) as KnowledgeType[];
const NEEDS_TENSORS: KnowledgeType[] = ['feature', 'attention', 'similarity'];
const BLURB: Record<KnowledgeType, string> = {
  response: 'Hinton KD on the logits (soft targets, logit MSE or hard targets)',
  feature: 'FitNets hints between intermediate tensors, adapters where shapes differ',
  attention: 'attention transfer between feature maps',
  relation: "RKD: distances and angles between samples' embeddings",
  similarity: "similarity-preserving: the batch's Gram matrices",
};

const shapeText = (t: TensorInfo) => `${t.dtype ?? '?'} ${formatShape(t.shape)}`;
const knowledgeOf = <T extends KnowledgeType>(s: State, type: T) => s.knowledge[type] as Extract<KnowledgeSpec, { type: T }>;

const kindsStep: Step = {
  id: 'knowledge',
  ask: async (ui, s) => {
    const factory = s.student && 'factory' in s.student;
    const items = KINDS.map((t) =>
      item(
        t,
        t,
        BLURB[t] + (factory && NEEDS_TENSORS.includes(t) ? ' (needs an ONNX student)' : ''),
        KNOWLEDGE_FORMULAS[t],
        s.types.length ? s.types.includes(t) : t === 'response',
      ),
    );
    const picked = await ui.pick<Item<KnowledgeType>>({
      placeholder: 'Knowledge to transfer (pick one or more; each line shows its loss)',
      items,
      canSelectMany: true,
      matchOnDetail: true,
      selected: items.filter((i) => i.picked),
      validateMany: (sel) => {
        if (!sel.length) return 'pick at least one kind of knowledge';
        const bad = factory ? sel.find((x) => NEEDS_TENSORS.includes(x.value)) : undefined;
        return bad ? `${bad.value} knowledge needs the student's tensor names: use an ONNX student` : undefined;
      },
    });
    s.types = KINDS.filter((t) => picked.some((p) => p.value === t));
  },
};

function weightStep(type: KnowledgeType): Step {
  return numberStep(
    `${type}.weight`,
    () => `Weight of the ${type} term in the total loss`,
    (s) => knowledgeOf(s, type).weight ?? DISTILL_DEFAULTS[type].weight,
    numberCheck(0, 1e9, false, true),
    (s, n) => {
      knowledgeOf(s, type).weight = n;
    },
  );
}

function responseSteps(): Step[] {
  const d = DISTILL_DEFAULTS.response;
  const k = (s: State) => knowledgeOf(s, 'response');
  const labels = (s: State) => s.trainLabels !== null && s.trainLabels !== undefined;
  return [
    {
      id: 'response.target',
      ask: async (ui, s) => {
        s.knowledge.response ??= { type: 'response', ...d };
        const targets = [
          item('soft', 'soft' as ResponseTarget, 'KL on softened distributions (Hinton KD, T^2 applied)', KNOWLEDGE_FORMULAS.response),
          item('logits', 'logits' as ResponseTarget, 'MSE between the logits'),
          item('hard', 'hard' as ResponseTarget, "CE with the teacher's argmax as the label"),
        ];
        const target = await ui.pick<Item<ResponseTarget>>({
          placeholder: 'Response knowledge: what the student matches',
          items: targets,
          selected: targets.filter((t) => t.value === (k(s).target ?? d.target)),
        });
        k(s).target = target.value;
      },
    },
    numberStep(
      'response.temperature',
      () => 'Temperature T (softens both distributions; the KL term is scaled by T^2)',
      (s) => k(s).temperature ?? d.temperature,
      numberCheck(0, 100, false, true),
      (s, n) => {
        k(s).temperature = n;
      },
      (s) => ((s.knowledge.response ? k(s).target : undefined) ?? d.target) === 'soft',
    ),
    {
      id: 'response.alpha',
      ask: async (ui, s) => {
        const given = labels(s);
        k(s).alpha = Number(
          await ui.input({
            prompt: given
              ? 'alpha: weight of the hard-label CE term (1 - alpha weighs the teacher term)'
              : 'alpha must be 0 without labels (the teacher term alone)',
            value: String(given ? (k(s).alpha ?? d.alpha) : 0),
            validate: (v) => numberCheck(0, 1)(v) ?? (!given && Number(v) > 0 ? 'No training labels were given: alpha must be 0.' : undefined),
          }),
        );
      },
    },
    weightStep('response'),
  ];
}

function relationSteps(): Step[] {
  const d = DISTILL_DEFAULTS.relation;
  const k = (s: State) => {
    s.knowledge.relation ??= { type: 'relation', ...d };
    return knowledgeOf(s, 'relation');
  };
  return [
    numberStep(
      'relation.distance',
      () => 'RKD lambda_D: weight of the distance term',
      (s) => k(s).distance ?? d.distance,
      numberCheck(0, 1e9),
      (s, n) => {
        k(s).distance = n;
      },
    ),
    numberStep(
      'relation.angle',
      (s) => `RKD lambda_A: weight of the angle term (costs B^2 x D per batch; batch ${s.batchSize})`,
      (s) => k(s).angle ?? d.angle,
      numberCheck(0, 1e9),
      (s, n) => {
        k(s).angle = n;
      },
    ),
    weightStep('relation'),
  ];
}

/** Pairs for a knowledge term: proposed pairs first (picked), pairs added by hand, "add a pair". */
function pairsStep(type: 'feature' | 'attention' | 'similarity'): Step {
  return {
    id: `${type}.pairs`,
    ask: async (ui, s) => {
      await loadTensors(s);
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
        return item(
          `${p.teacher} → ${p.student}`,
          p as TensorPairSpec | null,
          `${formatShape(t?.shape ?? null)} ← ${formatShape(st?.shape ?? null)}${isProposed ? ' (proposed)' : ''}`,
          `adapter: ${choice.adapter ?? 'none fits'} (${choice.reason})`,
          chosen ? chosen.some((c) => key(c) === key(p)) : isProposed,
        );
      });
      const add = item('$(add) Add a pair of my choice...', null, 'pick a teacher tensor, then a student tensor');
      const picked = await ui.pick<Item<TensorPairSpec | null>>({
        placeholder: `${type} knowledge: tensor pairs (teacher → student), proposed by matching resolution`,
        items: [...items, add],
        canSelectMany: true,
        matchOnDetail: true,
        selected: items.filter((i) => i.picked),
        validateMany: (sel) => (sel.length ? undefined : 'pick at least one pair, or "Add a pair of my choice..."'),
      });
      s.pairs[type] = picked.filter((p) => p.value).map((p) => p.value!);
      s.knowledge[type] = { ...(s.knowledge[type] ?? { type, ...DISTILL_DEFAULTS[type] }), type, pairs: s.pairs[type]! } as KnowledgeSpec;
      s.adding = picked.some((p) => p.value === null) ? type : undefined;
    },
  };
}

const usable = (list: TensorInfo[]) => list.filter((t) => t.kind !== 'input' && t.shape);

/**
 * "Add a pair": the first tensor (the teacher's; the student's deep one for self distillation),
 * then the student tensor paired with it; then `after` (the pairs again, or on).
 */
export function addPairSteps(type: PairKind, when: (s: State) => boolean, after: (s: State) => { goto: string } | void): Step[] {
  const fromStudent = type === 'auxiliary';
  return [
    {
      id: `${type}.addFirst`,
      when,
      ask: async (ui, s) => {
        const t = await ui.pick<Item<TensorInfo>>({
          placeholder: fromStudent ? 'Deep tensor of the student (the teacher side)' : 'Teacher tensor',
          items: usable(fromStudent ? s.studentTensors! : s.teacherTensors!).map((x) =>
            item(x.name, x, shapeText(x), `${x.opType ?? ''} ${x.producer ?? ''}`.trim()),
          ),
          matchOnDetail: true,
        });
        s.pairFirst = t.value;
        return { goto: `${type}.addSecond` };
      },
    },
    {
      id: `${type}.addSecond`,
      when,
      ask: async (ui, s) => {
        const first = s.pairFirst!;
        const st = await ui.pick<Item<TensorInfo>>({
          placeholder: `Student tensor paired with ${first.name} ${formatShape(first.shape)}`,
          items: usable(s.studentTensors!)
            .filter((x) => !fromStudent || x.name !== first.name)
            .map((x) => {
              const choice = chooseAdapter(first.shape, x.shape, type === 'attention' ? 'attention' : 'feature');
              return item(x.name, x, `${shapeText(x)} · adapter ${choice.adapter ?? 'none fits'}`, choice.reason);
            }),
          matchOnDetail: true,
        });
        const pair: TensorPairSpec = { teacher: first.name, student: st.value.name, adapter: 'auto' };
        (s.extraPairs[type] ??= []).push(pair);
        s.pairs[type] = [...(s.pairs[type] ?? []), pair];
        s.adding = undefined;
        return after(s);
      },
    },
  ];
}

function pairedSteps(type: 'feature' | 'attention' | 'similarity'): Step[] {
  const similarity: Step = {
    id: 'feature.similarity',
    ask: async (ui, s) => {
      const k = knowledgeOf(s, 'feature');
      const kinds = [
        item('mse', 'mse' as FeatureSimilarity, 'squared error (FitNets)'),
        item('l1', 'l1' as FeatureSimilarity, 'absolute error'),
        item('cosine', 'cosine' as FeatureSimilarity, '1 - cosine similarity'),
      ];
      const sim = await ui.pick<Item<FeatureSimilarity>>({
        placeholder: 'Feature knowledge: how the paired tensors are compared',
        items: kinds,
        selected: kinds.filter((x) => x.value === (k.similarity ?? DISTILL_DEFAULTS.feature.similarity)),
      });
      k.similarity = sim.value;
    },
  };
  return [
    pairsStep(type),
    ...addPairSteps(
      type,
      (s) => s.adding === type,
      () => ({ goto: `${type}.pairs` }),
    ),
    ...(type === 'feature' ? [similarity] : []),
    weightStep(type),
  ];
}

const STEPS_OF: Record<KnowledgeType, () => Step[]> = {
  response: responseSteps,
  feature: () => pairedSteps('feature'),
  attention: () => pairedSteps('attention'),
  relation: relationSteps,
  similarity: () => pairedSteps('similarity'),
};

/** The knowledge question, then each kind's steps (asked when the kind was picked). */
export function knowledgeSteps(): Step[] {
  return [
    kindsStep,
    ...KINDS.flatMap((type) =>
      STEPS_OF[type]().map((step): Step => ({
        ...step,
        when: (s) => s.types.includes(type) && (!step.when || step.when(s)),
      })),
    ),
  ];
}
