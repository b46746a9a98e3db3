// A webview panel in the editor area (report panel, run view) on one WebviewHost. A panel keeps
// everything it shows, so notifications before the view is ready are dropped and `replay` posts
// it all again each time the view says ready (VS Code tears a hidden webview down).
import * as vscode from 'vscode';
import type { Protocol } from '../../shared/ipc';
import { WebviewHost, type NotificationHandlers } from './host';
import { showPage, webviewOptions, type PageAssets } from './page';

/** A kind of panel: its view type, its page, and the protocol its view speaks (no requests). */
export interface PanelKind<Up, Down> {
  viewType: string;
  page: PageAssets;
  protocol: Protocol<Record<never, never>, Up, Down>;
}

/** Opens a new panel of `kind`. */
export function createPanel<Up, Down>(
  kind: PanelKind<Up, Down>,
  title: string,
  showOptions: vscode.ViewColumn | { viewColumn: vscode.ViewColumn; preserveFocus?: boolean },
  extensionUri: vscode.Uri,
): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(kind.viewType, title, showOptions, webviewOptions(extensionUri));
}

/** The panel's host, made before its page is set so that the page's first ready is heard. */
export function hostPanel<Up, Down>(
  panel: vscode.WebviewPanel,
  kind: PanelKind<Up, Down>,
  extensionUri: vscode.Uri,
  log: vscode.LogOutputChannel,
  replay: () => void,
  notifications: NotificationHandlers<Up>,
): WebviewHost<Record<never, never>, Up, Down> {
  const host = new WebviewHost(panel, { protocol: kind.protocol, log, beforeReady: 'replay', onReady: replay, notifications });
  showPage(panel.webview, extensionUri, kind.page, panel.title);
  return host;
}
