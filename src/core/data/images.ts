// Images as model inputs: PNG (pngjs) and JPEG (jpeg-js) decoded to RGBA, resized (bilinear
// with half-pixel centres, as OpenCV's INTER_LINEAR without antialiasing; or nearest), put in
// channel order, normalized as (pixel * scale - mean[c]) / std[c], and laid out NCHW or NHWC.
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { DataType, dataTypeName } from '../onnx/dataTypes';
import { float32ToFloat16Bits } from '../onnx/floatFormats';
import { errorMessage } from '../errors';
import { DataSourceError } from './errors';
import type { ModelInput, Values } from './inputs';

export interface ImagePreprocess {
  width: number;
  height: number;
  layout: 'NCHW' | 'NHWC';
  channels: 'RGB' | 'BGR' | 'GRAY';
  mean: number[];
  std: number[];
  /** Multiplies pixel values (0..255) before mean and std, e.g. 1/255. */
  scale: number;
  resize: 'bilinear' | 'nearest';
}

/** How images become one input's samples, settled from the model's shape and the user's options. */
export interface ImagePlan {
  /** Undefined: each image keeps its own size. */
  width?: number;
  height?: number;
  /** 'NHW': a rank-3 input, one gray channel without a channel axis. */
  layout: 'NCHW' | 'NHWC' | 'NHW';
  channels: 'RGB' | 'BGR' | 'GRAY';
  mean: number[];
  std: number[];
  scale: number;
  resize: 'bilinear' | 'nearest';
  elemType: DataType;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface RgbaImage { width: number; height: number; data: Uint8Array }

/** Largest image decoded, in pixels: jpeg-js's own default limit, applied to PNG too. A PNG
 *  header may declare any size over a few bytes of data, and pngjs fills the image out. */
const MAX_IMAGE_PIXELS = 100e6;

export function decodeImage(bytes: Uint8Array, label: string): RgbaImage {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (isPng && bytes.length >= 24) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const [w, h] = [v.getUint32(16), v.getUint32(20)];
    // pngjs takes a zero side too, and walks every row of an image of no pixels.
    if (w === 0 || h === 0) throw new DataSourceError(`is a PNG of ${w}x${h} pixels; the file is corrupt`, label);
    if (w * h > MAX_IMAGE_PIXELS) throw new DataSourceError(`is a ${w}x${h} PNG, more than ${MAX_IMAGE_PIXELS / 1e6} megapixels; resize it`, label);
  }
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (isJpeg) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
      return { width: img.width, height: img.height, data: img.data };
    }
  } catch (e) {
    throw new DataSourceError(`cannot be decoded as ${isPng ? 'PNG' : 'JPEG'} (${errorMessage(e)}); the file is corrupt`, label);
  }
  throw new DataSourceError('is neither a PNG nor a JPEG image (by its first bytes)', label);
}

const IMAGE_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.UINT8]);

/** Settles the preprocessing for `input` from its declared shape and `given` (which wins). */
export function planImages(input: ModelInput, given: Partial<ImagePreprocess> = {}): { plan: ImagePlan; notes: string[] } {
  const notes: string[] = [];
  const subject = `input '${input.name}'`;
  if (!IMAGE_TYPES.has(input.elemType)) {
    throw new DataSourceError(`${subject} is ${dataTypeName(input.elemType)}; images can feed float32, float64, float16 or uint8 inputs`);
  }
  const dims = input.dims;
  const rank = dims?.length ?? 4;
  if (rank !== 4 && rank !== 3) {
    throw new DataSourceError(`${subject} has shape ${JSON.stringify(dims)}, which is not an image batch ([N,C,H,W], [N,H,W,C] or [N,H,W]); give .npy/.npz data instead`);
  }
  const fixed = (d: unknown): number | undefined => (typeof d === 'number' ? d : undefined);
  let layout: ImagePlan['layout'];
  if (rank === 3) {
    if (given.layout) throw new DataSourceError(`${subject} has 3 axes [N,H,W]; layout '${given.layout}' needs 4`);
    layout = 'NHW';
  } else if (given.layout) {
    layout = given.layout;
  } else {
    const c1 = fixed(dims?.[1]);
    const c3 = fixed(dims?.[3]);
    const isC = (d: number | undefined) => d === 1 || d === 3;
    layout = !isC(c1) && isC(c3) ? 'NHWC' : 'NCHW';
  }
  const hAxis = layout === 'NCHW' ? 2 : 1;
  const wAxis = hAxis + 1;
  const cAxis = layout === 'NCHW' ? 1 : layout === 'NHWC' ? 3 : -1;
  const modelC = cAxis < 0 ? 1 : fixed(dims?.[cAxis]);
  const modelH = fixed(dims?.[hAxis]);
  const modelW = fixed(dims?.[wAxis]);
  const channels = given.channels ?? (modelC === 1 ? 'GRAY' : 'RGB');
  const nChannels = channels === 'GRAY' ? 1 : 3;
  const shape = `[${(dims ?? []).map((d) => (d === null ? '?' : d)).join(',')}]`;
  if (modelC !== undefined && modelC !== nChannels) {
    throw new DataSourceError(`${subject} ${shape} takes ${modelC} channel(s) (${layout}) but the images give ${nChannels} (${channels}); set channels to ${modelC === 1 ? "'GRAY'" : "'RGB' or 'BGR'"}${modelC !== 1 && modelC !== 3 ? ' or give .npy/.npz data' : ''}`);
  }
  const check = (what: string, got: number | undefined, want: number | undefined) => {
    if (got !== undefined && want !== undefined && got !== want) {
      throw new DataSourceError(`image ${what} ${got} does not match input '${input.name}' ${shape} (${layout}), which needs ${want}; set the preprocess ${what} to ${want}`);
    }
  };
  check('width', given.width, modelW);
  check('height', given.height, modelH);
  const width = given.width ?? modelW;
  const height = given.height ?? modelH;
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new DataSourceError(`image ${k} ${v} must be a positive whole number`);
  }
  if (width === undefined || height === undefined) {
    const free = width === undefined && height === undefined ? 'size' : width === undefined ? 'width' : 'height';
    notes.push(`input '${input.name}' fixes no image ${free}: images keep their own ${free} (a batch holds images of one size); set the preprocess width and height to resize them`);
  }
  const mean = given.mean ?? [0];
  const std = given.std ?? [1];
  for (const [k, v] of [['mean', mean], ['std', std]] as const) {
    if (v.length !== 1 && v.length !== nChannels) throw new DataSourceError(`preprocess ${k} has ${v.length} values; give 1 or ${nChannels} (one per ${channels} channel)`);
  }
  if (std.some((s) => s === 0)) throw new DataSourceError('preprocess std must not hold 0');
  const scale = given.scale ?? 1 / 255;
  if (input.elemType === DataType.UINT8 && (given.mean || given.std || given.scale !== undefined)) {
    notes.push(`input '${input.name}' is uint8: images are fed as raw 0..255 pixels; mean, std and scale are not applied`);
  }
  return { plan: { width, height, layout, channels, mean, std, scale, resize: given.resize ?? 'bilinear', elemType: input.elemType }, notes };
}

export function planText(plan: ImagePlan): string {
  const size = plan.width === undefined && plan.height === undefined ? 'own size' : `${plan.width ?? '(own width)'}x${plan.height ?? '(own height)'}`;
  const norm = plan.elemType === DataType.UINT8 ? 'raw 0..255' : `x*${+plan.scale.toPrecision(6)}, mean [${plan.mean.join(',')}], std [${plan.std.join(',')}]`;
  return `${plan.layout} ${plan.channels} ${size} (${plan.resize}), ${norm}`;
}

/** One sample's dims for an image of `w` x `h` after the plan's resize. */
export function imageSampleDims(plan: ImagePlan, w: number, h: number): number[] {
  const W = plan.width ?? w;
  const H = plan.height ?? h;
  const C = plan.channels === 'GRAY' ? 1 : 3;
  if (plan.layout === 'NCHW') return [C, H, W];
  if (plan.layout === 'NHWC') return [H, W, C];
  return [H, W];
}

interface Axis { i0: Int32Array; i1: Int32Array; w: Float32Array }

function axisMap(out: number, inp: number, mode: 'bilinear' | 'nearest'): Axis {
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const w = new Float32Array(out);
  const s = inp / out;
  for (let x = 0; x < out; x++) {
    if (mode === 'nearest') {
      const n = Math.min(inp - 1, Math.floor((x + 0.5) * s));
      i0[x] = n; i1[x] = n; w[x] = 0;
      continue;
    }
    let f = (x + 0.5) * s - 0.5;
    if (f < 0) f = 0;
    let a = Math.floor(f);
    if (a > inp - 1) a = inp - 1;
    i0[x] = a;
    i1[x] = Math.min(a + 1, inp - 1);
    w[x] = f - a;
  }
  return { i0, i1, w };
}

/** The plan applied to one decoded image: one sample's values. */
export function preprocessImage(img: RgbaImage, plan: ImagePlan): Values {
  const W = plan.width ?? img.width;
  const H = plan.height ?? img.height;
  const C = plan.channels === 'GRAY' ? 1 : 3;
  const xs = axisMap(W, img.width, plan.resize);
  const ys = axisMap(H, img.height, plan.resize);
  const src = img.data;
  const stride = img.width * 4;
  const out = new Float32Array(W * H * C);
  const raw = plan.elemType === DataType.UINT8;
  const mean = Array.from({ length: C }, (_, c) => plan.mean[plan.mean.length === 1 ? 0 : c]);
  const std = Array.from({ length: C }, (_, c) => plan.std[plan.std.length === 1 ? 0 : c]);
  const order = plan.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const rgb = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    const r0 = ys.i0[y] * stride;
    const r1 = ys.i1[y] * stride;
    const wy = ys.w[y];
    for (let x = 0; x < W; x++) {
      const c0 = xs.i0[x] * 4;
      const c1 = xs.i1[x] * 4;
      const wx = xs.w[x];
      for (let k = 0; k < 3; k++) {
        const top = src[r0 + c0 + k] + (src[r0 + c1 + k] - src[r0 + c0 + k]) * wx;
        const bottom = src[r1 + c0 + k] + (src[r1 + c1 + k] - src[r1 + c0 + k]) * wx;
        rgb[k] = top + (bottom - top) * wy;
      }
      for (let c = 0; c < C; c++) {
        let v = C === 1 ? 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] : rgb[order[c]];
        v = raw ? v : (v * plan.scale - mean[c]) / std[c];
        const at = plan.layout === 'NCHW' ? c * H * W + y * W + x : plan.layout === 'NHWC' ? (y * W + x) * C + c : y * W + x;
        out[at] = v;
      }
    }
  }
  switch (plan.elemType) {
    case DataType.UINT8: return Uint8Array.from(out, (v) => Math.min(255, Math.max(0, Math.round(v))));
    case DataType.FLOAT16: return float32ToFloat16Bits(out);
    case DataType.DOUBLE: return Float64Array.from(out);
    default: return out;
  }
}
