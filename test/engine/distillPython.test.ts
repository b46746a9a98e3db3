// Which interpreter runs the trainer, with the real interpreters of this machine: python3 on PATH
// without torch (a pyenv or venv Python) gives way to the system's /usr/bin/python3, saying so; an
// interpreter the user named is never replaced; with none that has torch, one line says what to do.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { DistillEvent } from '../../src/shared/distillRun';
import { PYTHON_ENV, probePython } from '../../src/core/distill/python';
import { distillAndVerify } from '../../src/core/workflows/distillAndVerify';
import { TempDirs } from '../support/helpers';
import { writeSpec } from '../fixtures/distill/support';

const SYSTEM_PYTHON = '/usr/bin/python3';
const FIX =
  /To fix: apt-get install python3-numpy, or pip install numpy; apt-get install python3-torch libopenblas0-pthread, or pip install torch; .*or name one that has them \(setting onnxCompress\.distill\.pythonPath, --python, or ONNX_COMPRESS_PYTHON\)$/;

function hasTorch(python: string): boolean {
  return spawnSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

describe('distillation engine: choosing the Python interpreter', function () {
  this.timeout(180000);
  const temp = new TempDirs('distill-python-');
  const saved = { PATH: process.env.PATH, named: process.env[PYTHON_ENV] };
  let torchless = '';

  before(() => {
    assert.ok(hasTorch(SYSTEM_PYTHON), `${SYSTEM_PYTHON} has torch and numpy (npm test installs python3-torch)`);
    // A python3 without torch (nor numpy), as a fresh venv or pyenv is: a venv of the system
    // Python that does not see its packages.
    const venv = path.join(temp.make(), 'venv');
    const made = spawnSync(SYSTEM_PYTHON, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
    assert.strictEqual(made.status, 0, made.stderr);
    torchless = path.join(venv, 'bin', 'python3');
    assert.ok(!hasTorch(torchless), 'the venv has no torch');
  });
  beforeEach(() => {
    // python3 resolves to the torch-less interpreter, whatever the PATH of the test run.
    process.env.PATH = `${path.dirname(torchless)}${path.delimiter}${saved.PATH}`;
    delete process.env[PYTHON_ENV];
  });
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.named === undefined) delete process.env[PYTHON_ENV];
    else process.env[PYTHON_ENV] = saved.named;
  });
  after(() => temp.cleanup());

  it('uses /usr/bin/python3 when python3 on PATH lacks torch, and names both', async () => {
    const p = await probePython();
    assert.ok(p.ok, p.message);
    assert.strictEqual(p.python, SYSTEM_PYTHON);
    assert.match(p.torch ?? '', /^\d+\.\d+/);
    assert.strictEqual(p.fallbackFrom, `python3 on PATH (${torchless}) lacks numpy, torch`);
    assert.ok(p.message.startsWith(`python3 on PATH (${torchless}) lacks numpy, torch; using ${SYSTEM_PYTHON} instead: Python `), p.message);
  });

  it('keeps python3 on PATH when it has torch (no fallback)', async () => {
    process.env.PATH = `${path.dirname(SYSTEM_PYTHON)}${path.delimiter}${saved.PATH}`;
    const p = await probePython();
    assert.ok(p.ok, p.message);
    assert.strictEqual(p.python, 'python3');
    assert.strictEqual(p.fallbackFrom, null);
  });

  it('never replaces an interpreter named explicitly: the error names it and the fix', async () => {
    const p = await probePython(torchless);
    assert.strictEqual(p.ok, false);
    assert.strictEqual(p.python, torchless);
    assert.deepStrictEqual(p.missing, ['numpy', 'torch']);
    assert.strictEqual(
      p.message,
      `${torchless} lacks numpy, torch: install numpy (apt-get install python3-numpy, or pip install numpy); install torch (apt-get install python3-torch libopenblas0-pthread, or pip install torch); or name one that has them (setting onnxCompress.distill.pythonPath, --python, or ONNX_COMPRESS_PYTHON)`,
    );
  });

  it(`never replaces the interpreter ${PYTHON_ENV} names, and says it came from there`, async () => {
    process.env[PYTHON_ENV] = torchless;
    const p = await probePython();
    assert.strictEqual(p.ok, false);
    assert.strictEqual(p.python, torchless);
    assert.match(p.message, new RegExp(`^${torchless}.* lacks numpy, torch: .* \\(${torchless} comes from ${PYTHON_ENV}\\)$`));
  });

  it('with no candidate that has torch, fails with one line naming each and the fix', async () => {
    const p = await probePython(undefined, { fallbacks: ['/nonexistent/python3'] });
    assert.strictEqual(p.ok, false);
    assert.ok(!p.message.includes('\n'), p.message);
    assert.ok(
      p.message.startsWith(
        `no Python interpreter has what the trainer needs: python3 (${torchless}) lacks numpy, torch; /nonexistent/python3 cannot run the trainer. `,
      ),
      p.message,
    );
    assert.match(p.message, FIX);
  });

  it('a run started without an interpreter says in its log, events and report which one it used instead of python3', async () => {
    const dir = temp.make();
    const spec = writeSpec(dir);
    const runDir = path.join(dir, 'run');
    const abort = new AbortController();
    const events: DistillEvent[] = [];
    // The choice is all this test needs: the run is cancelled as soon as it is made.
    const report = await distillAndVerify(spec, {
      runDir,
      signal: abort.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.event === 'warning') abort.abort();
      },
    });
    assert.strictEqual(report.trainer.python, SYSTEM_PYTHON);
    const expected = `python3 on PATH (${torchless}) lacks numpy, torch; the trainer runs with ${SYSTEM_PYTHON} (torch ${report.trainer.torch})`;
    const warning = events.find((e) => e.event === 'warning');
    assert.deepStrictEqual(warning && { ...warning, hint: undefined }, { event: 'warning', message: expected, hint: undefined });
    assert.ok(
      report.warnings.some((w) => w.startsWith(expected)),
      JSON.stringify(report.warnings),
    );
    const log = fs.readFileSync(path.join(runDir, 'log.txt'), 'utf8');
    assert.ok(log.includes(`warning: ${expected}`), log);
  });

  it('a run with no usable interpreter fails before any work, its report holding the one-line fix', async () => {
    const dir = temp.make();
    const runDir = path.join(dir, 'run');
    const report = await distillAndVerify(writeSpec(dir), { runDir, python: torchless });
    assert.strictEqual(report.status, 'failed');
    assert.strictEqual(
      report.message,
      `${torchless} lacks numpy, torch: install numpy (apt-get install python3-numpy, or pip install numpy); install torch (apt-get install python3-torch libopenblas0-pthread, or pip install torch); or name one that has them (setting onnxCompress.distill.pythonPath, --python, or ONNX_COMPRESS_PYTHON)`,
    );
    assert.ok(!fs.existsSync(path.join(runDir, 'student-graph')), 'nothing is exported before the interpreter is known to work');
  });
});
