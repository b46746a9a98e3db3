#!/usr/bin/env node
// Makes the Fashion-MNIST subset that ships in data/fashion-mnist/ (the demo's real calibration and
// test data on a machine without Debian's dataset-fashion-mnist): the first 512 training and the
// first 1000 test images with their labels, in the original IDX format, gzip-compressed.
//   node scripts/make-fashion-subset.js [SOURCE_DIR]   (default /usr/share/datasets/fashion-mnist)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const SOURCE = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const DEST = path.join(__dirname, '..', 'data', 'fashion-mnist');

/** The first `count` records of an IDX file (header: magic, then one big-endian u32 per dimension). */
function head(file, count) {
  const buf = zlib.gunzipSync(fs.readFileSync(path.join(SOURCE, file)));
  const dims = buf[3];
  const shape = Array.from({ length: dims }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const record = shape.slice(1).reduce((a, b) => a * b, 1);
  const header = Buffer.from(buf.subarray(0, 4 + 4 * dims));
  header.writeUInt32BE(count, 4);
  return Buffer.concat([header, buf.subarray(header.length, header.length + count * record)]);
}

fs.mkdirSync(DEST, { recursive: true });
for (const [split, count] of [
  ['train', 512],
  ['t10k', 1000],
]) {
  for (const kind of ['images-idx3', 'labels-idx1']) {
    const name = `${split}-${kind}-ubyte.gz`;
    // mtime 0 in the gzip header: the same bytes on every run.
    fs.writeFileSync(path.join(DEST, name.replace(split, `${split}-${count}`)), zlib.gzipSync(head(name, count), { level: 9 }));
  }
}
console.log(
  `wrote ${fs
    .readdirSync(DEST)
    .filter((f) => f.endsWith('.gz'))
    .join(', ')} to ${DEST}`,
);
