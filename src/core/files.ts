// Writing files so that a reader never sees half of one: a temporary file beside the target,
// renamed into place (a rename within a folder is atomic). The temporary name is unique per write
// (two writes of one file, even from one process, never share it) and is removed when a write fails.
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

function writeFailed(file: string, e: unknown): FileWriteError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' ? 'a folder of that name is in the way'
    : code === 'ENOENT' ? 'its folder does not exist'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
        : code === 'ENOSPC' ? 'no space left on the device'
          : errorMessage(e);
  return new FileWriteError(`cannot write the file: ${reason}`, file);
}

export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = temporaryName(file);
  try {
    await fs.promises.writeFile(tmp, text, { flag: 'wx' });
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw writeFailed(file, e);
  }
}

export function writeFileAtomicSync(file: string, text: string): void {
  const tmp = temporaryName(file);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeFailed(file, e);
  }
}

/** JSON as the product writes it: two-space indent and a final newline. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
