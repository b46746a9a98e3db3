// The offline HTML report: one self-contained page holding the report app's script and styles
// (the same app as the VS Code panel) and the report as JSON data. No network: a CSP allows only
// this page's inline script and styles; the app reads the JSON element when it runs outside VS Code.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { QuantReport } from '../../shared/quantReport';
import { REPORT_DATA_ELEMENT_ID, REPORT_SCRIPT, REPORT_STYLESHEETS } from '../../shared/reportViewProtocol';
import { OnnxCompressError } from '../errors';
import { writeFileAtomicSync } from '../files';
import { htmlPage } from '../../shared/webviewHtml';

export class HtmlReportError extends OnnxCompressError {}

/**
 * The folder holding the report app (dist/report.js and media/): the first ancestor of this code
 * that has it (dist/ beside the CLI bundle; the repository root when running from out/).
 */
export function findReportAssets(start = __dirname): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, REPORT_SCRIPT))) return dir;
    if (path.dirname(dir) === dir) break;
  }
  throw new HtmlReportError(`the report app ${REPORT_SCRIPT} was not found above ${start}; build it with: npx webpack --mode production --config-name report`);
}

/** Text safe inside a <script> or <style> element: nothing in it can close the element
 *  (`<\/` means `</` in JavaScript strings and regular expressions, and in CSS). */
function inert(text: string, tag: 'script' | 'style'): string {
  return text.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1');
}

function reportHtml(report: QuantReport, assets = findReportAssets()): string {
  const read = (rel: string) => {
    const file = path.join(assets, rel);
    if (!fs.existsSync(file))
      throw new HtmlReportError(`${rel} is missing in ${assets}; build the report app (npx webpack --mode production --config-name report)`, file);
    return fs.readFileSync(file, 'utf8');
  };
  const script = read(REPORT_SCRIPT);
  const styles = REPORT_STYLESHEETS.map(read);
  const nonce = randomBytes(16).toString('base64');
  const csp = ["default-src 'none'", 'img-src data:', `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
  // JSON in a data block: '<' escaped so that no text in the report can end the element.
  const json = JSON.stringify(report).replace(/</g, '\\u003c');
  return (
    htmlPage({
      csp,
      title: `Quantization report: ${path.basename(report.quantizedModel)}`,
      head: styles.map((s) => `<style nonce="${nonce}">\n${inert(s, 'style')}\n</style>`).join('\n'),
      body: `<div id="app"></div>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${json}</script>
<script nonce="${nonce}">
${inert(script, 'script')}
</script>`,
    }) + '\n'
  );
}

/** Writes the page through a temporary file renamed into place. */
export function writeReportHtml(report: QuantReport, file: string, assets?: string): void {
  writeFileAtomicSync(file, reportHtml(report, assets));
}
