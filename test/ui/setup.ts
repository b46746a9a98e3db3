// Mocha root hooks of the UI suite: one workbench for the whole run (the flows build on each
// other's files, as a person's session does), and on a failed test a screenshot and the
// workbench's logs under .test-output/ui/ (README: "Tests").
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type * as Mocha from 'mocha';
import { FIXTURES } from '../support/evaluate';
import { ROOT } from '../support/browser';
import { LM_CALIB, LM_CALIB_LABELS, LM_HELDOUT, LM_HELDOUT_LABELS, LM_MODEL } from '../support/languageModel';
import { Workbench } from './workbench';

let current: Workbench | undefined;

/** The workbench of this run. */
export function bench(): Workbench {
  if (!current) throw new Error('the workbench did not start');
  return current;
}

/** The folder a person opens: two models, the shipped Fashion-MNIST data, a distillation pair, and
 *  the character-level language model with its text windows (lm/). */
function prepareWorkspace(): string {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-compress-ui-ws-'));
  fs.copyFileSync(path.join(FIXTURES, 'fashion_cnn.onnx'), path.join(ws, 'fashion-cnn.onnx'));
  fs.copyFileSync(path.join(FIXTURES, 'tiny_transformer.onnx'), path.join(ws, 'tiny-transformer.onnx'));
  fs.cpSync(path.join(ROOT, 'data', 'fashion-mnist'), path.join(ws, 'data'), { recursive: true, filter: (f) => !f.endsWith('.md') });
  fs.mkdirSync(path.join(ws, 'distill'));
  for (const m of ['fashion_cnn.onnx', 'fashion_mlp_student.onnx']) fs.copyFileSync(path.join(FIXTURES, m), path.join(ws, 'distill', m));
  fs.mkdirSync(path.join(ws, 'lm'));
  fs.copyFileSync(LM_MODEL, path.join(ws, 'lm', 'char-lm.onnx'));
  for (const f of [LM_CALIB, LM_CALIB_LABELS, LM_HELDOUT, LM_HELDOUT_LABELS]) fs.copyFileSync(f, path.join(ws, 'lm', path.basename(f)));
  return ws;
}

export const mochaHooks: Mocha.RootHookObject = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(180000);
    current = await Workbench.start(prepareWorkspace());
  },
  async afterEach(this: Mocha.Context) {
    const t = this.currentTest;
    if (t?.state === 'failed' && current) {
      const dir = await current.keepArtifacts(t.fullTitle());
      // Said at once: the spec reporter lists failures only at the end of the run.
      console.log(`      ${t.err?.message.split('\n')[0]}\n      screenshot and logs: ${path.relative(ROOT, dir)}`);
    }
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60000);
    const ws = current?.workspace;
    await current?.stop();
    if (ws) fs.rmSync(ws, { recursive: true, force: true });
  },
};
