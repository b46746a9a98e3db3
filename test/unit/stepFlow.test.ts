// The multi-step input engine's order of questions, driven by a scripted user: skipped steps,
// the "n/m" counter, Back, asking again, loops, opening at a later step, closing.
import * as assert from 'assert';
import { Back, Cancelled, StepFlow, type Next, type StepDecl } from '../../src/extension/common/stepFlow';

interface State {
  kind?: string;
  extra: number;
  asked: string[];
}

/** A user who answers from a script: an answer, 'back' or 'close' per question. */
class ScriptedUser {
  readonly seen: string[] = [];
  constructor(
    private readonly script: string[],
    private readonly flow: () => StepFlow<State, ScriptedUser>,
  ) {}
  async ask(id: string): Promise<string> {
    const f = this.flow();
    this.seen.push(`${id} ${f.step}/${f.totalSteps}`);
    const answer = this.script.shift();
    if (answer === undefined) throw new Error(`no answer scripted for ${id}`);
    if (answer === 'back') throw new Back();
    if (answer === 'close') throw new Cancelled();
    return answer;
  }
}

const step = (id: string, apply: (s: State, a: string) => Next = () => undefined, when?: (s: State) => boolean): StepDecl<State, ScriptedUser> => ({
  id,
  when,
  ask: async (ui, s) => {
    const a = await ui.ask(id);
    s.asked.push(`${id}=${a}`);
    return apply(s, a);
  },
});

const STEPS = [
  step('kind', (s, a) => {
    s.kind = a;
  }),
  step('detail', undefined, (s) => s.kind === 'custom'),
  step('count', (_s, a) => (Number.isInteger(Number(a)) ? undefined : 'again')),
  step('more', (s, a) => {
    if (a === 'yes') {
      s.extra++;
      return { goto: 'count' };
    }
  }),
  step('name'),
];

async function run(script: string[], startAt?: string) {
  const state: State = { extra: 0, asked: [] };
  const flow: StepFlow<State, ScriptedUser> = new StepFlow(STEPS, state);
  const user = new ScriptedUser(script, () => flow);
  const done = await flow.run(user, startAt);
  return { done, seen: user.seen, state };
}

describe('multi-step input engine', () => {
  it('skips the steps that do not apply and counts only those that do', async () => {
    const { done, seen } = await run(['plain', '3', 'no', 'n']);
    assert.strictEqual(done, true);
    assert.deepStrictEqual(seen, ['kind 1/4', 'count 2/4', 'more 3/4', 'name 4/4']);
  });

  it('a step that starts to apply is counted and asked', async () => {
    const { seen } = await run(['custom', 'd', '3', 'no', 'n']);
    assert.deepStrictEqual(seen, ['kind 1/4', 'detail 2/5', 'count 3/5', 'more 4/5', 'name 5/5']);
  });

  it('Back returns to the step asked before, which is answered again', async () => {
    const { seen, state } = await run(['custom', 'd', 'back', 'back', 'plain', '3', 'no', 'n']);
    assert.deepStrictEqual(seen, ['kind 1/4', 'detail 2/5', 'count 3/5', 'detail 2/5', 'kind 1/5', 'count 2/4', 'more 3/4', 'name 4/4']);
    assert.strictEqual(state.kind, 'plain');
  });

  it('a refused answer asks the same step again, at the same number', async () => {
    const { seen } = await run(['plain', 'many', '3', 'no', 'n']);
    assert.deepStrictEqual(seen, ['kind 1/4', 'count 2/4', 'count 2/4', 'more 3/4', 'name 4/4']);
  });

  it('a jump back (another round) counts on, and Back retraces the rounds', async () => {
    const { seen, state } = await run(['plain', '1', 'yes', '2', 'back', 'back', 'yes', '2', 'no', 'n']);
    assert.deepStrictEqual(seen, ['kind 1/4', 'count 2/4', 'more 3/4', 'count 4/6', 'more 5/6', 'count 4/6', 'more 3/4', 'count 4/6', 'more 5/6', 'name 6/6']);
    assert.strictEqual(state.extra, 2);
  });

  it('opens at a later step with the steps before it counted, and Back reaches them', async () => {
    const { seen } = await run(['back', 'plain', '3', 'no', 'n'], 'count');
    assert.deepStrictEqual(seen, ['count 2/4', 'kind 1/4', 'count 2/4', 'more 3/4', 'name 4/4']);
  });

  it('an unknown or skipped start opens at the first step', async () => {
    assert.deepStrictEqual((await run(['plain', '3', 'no', 'n'], 'detail')).seen[0], 'kind 1/4');
    assert.deepStrictEqual((await run(['plain', '3', 'no', 'n'], 'nothing')).seen[0], 'kind 1/4');
  });

  it('closing a question ends the flow unanswered; other errors propagate', async () => {
    const { done, state } = await run(['plain', 'close']);
    assert.strictEqual(done, false);
    assert.deepStrictEqual(state.asked, ['kind=plain']);
    await assert.rejects(run(['plain']), /no answer scripted for count/);
  });
});
