// What the quantize wizard can offer without a dialog: data files lying beside the model, and the
// labels file lying beside the data (the `*-labels-*` twin of an IDX `*-images-*` file, or a
// `labels.npy`). Offered, never chosen for the user.
import * as fs from 'fs';
import * as path from 'path';

const DATA_FILE = /\.(npz|npy|pb)$|idx3-ubyte(\.gz)?$/i;
const LABELS_FILE = /labels?|idx1-ubyte/i;
const IMAGE = /\.(png|jpe?g)$/i;

function entries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Data files and image folders in the model's folder and its direct subfolders (labels excluded). */
export function dataBeside(model: string, limit = 20): string[] {
  const root = path.dirname(model);
  const found: string[] = [];
  const scan = (dir: string, depth: number) => {
    for (const e of entries(dir)) {
      if (found.length >= limit || e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isFile() && DATA_FILE.test(e.name) && !LABELS_FILE.test(e.name)) found.push(p);
      else if (e.isDirectory() && depth === 0) {
        if (entries(p).some((x) => x.isFile() && IMAGE.test(x.name))) found.push(p);
        else scan(p, depth + 1);
      }
    }
  };
  scan(root, 0);
  return found.sort();
}

/** Labels files that belong to `data`: its IDX twin first, then other labels files beside it. */
export function labelsBeside(data: string): string[] {
  const dir = fs.existsSync(data) && fs.statSync(data).isDirectory() ? data : path.dirname(data);
  const twin = path
    .basename(data)
    .replace(/images?/i, (m) => (m[0] === 'I' ? 'Labels' : 'labels'))
    .replace('idx3', 'idx1');
  const others = entries(dir)
    .filter((e) => e.isFile() && LABELS_FILE.test(e.name) && /\.(npy|gz)$|idx1-ubyte$/i.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
  const first = path.join(dir, twin);
  return others.includes(first) && first !== data ? [first, ...others.filter((o) => o !== first)] : others;
}
