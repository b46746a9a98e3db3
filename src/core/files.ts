// Writing files so that a reader never sees half of one: a temporary file beside the target,
// renamed into place (a rename within a folder is atomic). The temporary name is unique per write
// (two writes of one file, even from one process, never share it) and is removed when a write fails.
// The target's folder is made when missing, and removed again if the write fails.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { errorMessage, OnnxCompressError } from './errors';

/** A file (a report, a result, a recipe) could not be written; nothing was left half-written. */
export class FileWriteError extends OnnxCompressError {}

/** A hidden, unique name in the target's folder. */
export function temporaryName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Makes the folder `file` goes in; returns what undoes it (the folders it made, while empty). */
export function makeFolderFor(file: string): () => void {
  const folder = path.dirname(path.resolve(file));
  const first = fs.mkdirSync(folder, { recursive: true });
  return () => {
    if (!first) return;
    for (let d = folder; d.length >= first.length; d = path.dirname(d)) {
      try {
        fs.rmdirSync(d);
      } catch {
        return; // not empty: something else is in it now
      }
    }
  };
}

/** Cleanup after a failure: a file that was never made (or whose folder is not one) is fine. */
function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // nothing of ours is there
  }
}

function writeFailed(file: string, e: unknown): FileWriteError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason =
    code === 'EISDIR' || code === 'ENOTEMPTY'
      ? 'a folder of that name is in the way'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a file is in the way of its folder'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOSPC'
            ? 'no space left on the device'
            : errorMessage(e);
  return new FileWriteError(`cannot write the file: ${reason}`, file);
}

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = temporaryName(file);
  let undo = () => undefined as void;
  try {
    undo = makeFolderFor(file);
    await fs.promises.writeFile(tmp, text, { flag: 'wx' });
    await fs.promises.rename(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    undo();
    throw writeFailed(file, e);
  }
}

export function writeFileAtomicSync(file: string, text: string): void {
  const tmp = temporaryName(file);
  let undo = () => undefined as void;
  try {
    undo = makeFolderFor(file);
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    undo();
    throw writeFailed(file, e);
  }
}

/** JSON as the product writes it: two-space indent and a final newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
