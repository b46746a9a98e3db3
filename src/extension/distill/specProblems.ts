// Problems of a `*.distill.json` against the real models and data (the engine's validateSpec),
// shown in the Problems panel at the field they concern, and as text for messages.
import * as vscode from 'vscode';
import { validateSpec, type SpecValidation } from '../../core/distill';
import { jsonValueSpans, spanOf } from './jsonLocations';

export class SpecChecker implements vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('onnxCompress.distill');

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Validates the spec and publishes its problems; the validation is returned for the caller. */
  async check(file: string): Promise<SpecValidation> {
    const uri = vscode.Uri.file(file);
    const validation = await validateSpec(file);
    const doc = await vscode.workspace.openTextDocument(uri);
    const spans = jsonValueSpans(doc.getText());
    this.diagnostics.set(
      uri,
      validation.problems.map((p) => {
        const span = spanOf(spans, p.path) ?? { start: 0, end: 0 };
        const range = new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end));
        const d = new vscode.Diagnostic(
          range,
          `${p.path ? `${p.path}: ` : ''}${p.message}`,
          p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
        );
        d.source = 'ONNX distill';
        return d;
      }),
    );
    for (const a of validation.adapters) this.log.info(`${file}: ${a.path}: ${a.teacher} <- ${a.student}: adapter ${a.adapter} (${a.reason})`);
    return validation;
  }

  problems(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.diagnostics.get(uri) ?? [];
  }

  dispose(): void {
    this.diagnostics.dispose();
  }
}
