// The VS Code face. Issue "The extension" fills it: custom editor, inspector, commands.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('ONNX Compress', { log: true });
  context.subscriptions.push(log);
  log.info('ONNX Compress activated');
}

export function deactivate(): void {}
