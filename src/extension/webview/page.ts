// A webview's page and options: scripts from dist/, styles from media/, under the strict CSP of
// webviewPageHtml with a fresh nonce per page.
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { webviewPageHtml } from '../../shared/webviewHtml';

/** What a page loads, as paths relative to the extension root ('dist/run.js', 'media/run/run.css'). */
export interface PageAssets {
  script: string;
  styles: readonly string[];
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')] };
}

/** Sets the webview's options and page. */
export function showPage(webview: vscode.Webview, extensionUri: vscode.Uri, assets: PageAssets, title: string): void {
  webview.options = webviewOptions(extensionUri);
  const uri = (rel: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...rel.split('/'))).toString();
  webview.html = webviewPageHtml({
    nonce: crypto.randomBytes(16).toString('base64'),
    cspSource: webview.cspSource,
    scriptUri: uri(assets.script),
    styleUri: assets.styles.map(uri),
    title,
  });
}
