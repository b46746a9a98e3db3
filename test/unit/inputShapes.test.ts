// Input sizes: the one parser the CLI's --input-shape and the model view's Set Input Shapes use,
// and the sizes guessed for symbolic dims.
import * as assert from 'assert';
import { formatInputShapes, guessInputDims, InputShapeError, inputShapesFor, inputShapesProblem, parseInputShapes } from '../../src/core/runtime/inputShapes';
import { run } from '../../src/cli/main';

describe('input shapes', function () {
  it('parses NAME=D1,D2,... as a list or as one text with semicolons, and writes it back', () => {
    assert.deepStrictEqual(parseInputShapes(['x=1,3,224,224', 'mask=1,128']), { x: [1, 3, 224, 224], mask: [1, 128] });
    const text = ' x=1,3,224,224 ; /enc/ids:0=2,16; ';
    const parsed = parseInputShapes(text);
    assert.deepStrictEqual(parsed, { x: [1, 3, 224, 224], '/enc/ids:0': [2, 16] });
    assert.deepStrictEqual(parseInputShapes(formatInputShapes(parsed)), parsed);
    assert.deepStrictEqual(parseInputShapes(''), {});
  });

  it('refuses what is not NAME=D1,D2,... with an example', () => {
    for (const bad of ['x', 'x=1,a', 'x=1,,4', '=1,4', 'x=-1,4']) {
      assert.throws(
        () => parseInputShapes([bad]),
        (e: Error) => e instanceof InputShapeError && e.message === `'${bad}': expected NAME=D1,D2,... (for example x=1,3,224,224)`,
        bad,
      );
    }
  });

  it('the CLI says the same, after its flag', async () => {
    const err: string[] = [];
    const code = await run(['inspect', 'model.onnx', '--nodes', '--input-shape', 'x=1,a'], { log: () => undefined, error: (s) => err.push(s) });
    assert.notStrictEqual(code, 0);
    assert.match(err.join('\n'), /--input-shape 'x=1,a': expected NAME=D1,D2,\.\.\. \(for example x=1,3,224,224\)/);
  });

  it('guesses batch 1, 224 for the image axes of NCHW and NHWC inputs, 1 elsewhere', () => {
    assert.deepStrictEqual(guessInputDims(['N', 3, 'H', 'W']).dims, [1, 3, 224, 224]);
    assert.deepStrictEqual(guessInputDims([null, 'height', 'width', 3]).dims, [1, 224, 224, 3]);
    assert.deepStrictEqual(guessInputDims(['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1']).dims, [1, 3, 48, 224]);
    // No channel axis to tell the layout by: nothing is taken for an image.
    assert.deepStrictEqual(guessInputDims(['a', 'b', 'c', 'd']).dims, [1, 1, 1, 1]);
    assert.deepStrictEqual(guessInputDims(['batch', 'sequence']).dims, [1, 1]);
    assert.deepStrictEqual(guessInputDims(['batch', 'img_h', 'img_w']).dims, [1, 224, 224]);
    assert.deepStrictEqual(guessInputDims([2, 'n', 128]).guessed, [{ axis: 1, name: 'n', size: 1 }]);
  });

  it('gives a symbolic name one size across inputs', () => {
    const named = new Map<string, number>();
    assert.deepStrictEqual(guessInputDims(['N', 3, 'H', 'W'], named).dims, [1, 3, 224, 224]);
    // 'H' here is not an image axis, but it is the same 'H' as above.
    assert.deepStrictEqual(guessInputDims(['N', 'H'], named).dims, [1, 224]);
  });
});

describe('input shapes for one model', function () {
  const inputs = [
    { name: 'x', dims: ['N', 3, 'H', 'W'] },
    { name: 'mask', dims: null },
  ];

  it('says which given size does not fit the inputs', () => {
    assert.strictEqual(inputShapesProblem(inputs, { x: [1, 3, 64, 64], mask: [1, 9] }), undefined);
    assert.strictEqual(inputShapesProblem(inputs, { y: [1] }), "the model has no input 'y'; its inputs are 'x', 'mask'");
    assert.strictEqual(inputShapesProblem(inputs, { x: [1, 3, 64] }), "input 'x' has 4 dims, not 3");
    assert.strictEqual(inputShapesProblem(inputs, { x: [1, 4, 64, 64] }), "input 'x' is declared with size 3 on axis 1, not 4");
  });

  it('applies general sizes where they fit this model, and the sizes given for it over them', () => {
    const general = { x: [1, 3, 8, 8], ids: [1, 16], mask: [1, 2] };
    assert.deepStrictEqual(inputShapesFor(inputs, general), { shapes: { x: [1, 3, 8, 8], mask: [1, 2] }, unfit: [] });
    assert.deepStrictEqual(inputShapesFor(inputs, { x: [1, 8] }, { mask: [4] }), { shapes: { mask: [4] }, unfit: ["input 'x' has 4 dims, not 2"] });
    assert.deepStrictEqual(inputShapesFor(inputs, general, { x: [2, 3, 5, 5] }).shapes, { x: [2, 3, 5, 5], mask: [1, 2] });
  });
});
