// Helpers for webview pages driven in Chromium: VS Code's theme as a webview sees it, and whether
// a chart was drawn.
import type { Page } from 'playwright-core';

/**
 * VS Code's theme as a webview sees it: a body class and --vscode-* variables. Passed to
 * page.addInitScript / page.evaluate, so it must stay self-contained.
 */
export function setVsCodeTheme(theme: 'dark' | 'light'): void {
  const apply = () => {
    const dark = theme === 'dark';
    document.body.classList.remove('vscode-dark', 'vscode-light');
    document.body.classList.add(dark ? 'vscode-dark' : 'vscode-light');
    const vars: Record<string, string> = dark
      ? {
          '--vscode-foreground': '#cccccc',
          '--vscode-editor-background': '#1e1e1e',
          '--vscode-charts-blue': '#3794ff',
          '--vscode-charts-red': '#f14c4c',
          '--vscode-charts-orange': '#d18616',
          '--vscode-charts-green': '#89d185',
          '--vscode-panel-border': '#3c3c3c',
          '--vscode-editorWidget-background': '#252526',
          '--vscode-font-family': 'sans-serif',
          '--vscode-font-size': '13px',
          '--vscode-list-activeSelectionBackground': '#04395e',
          '--vscode-button-background': '#0e639c',
          '--vscode-button-foreground': '#ffffff',
        }
      : {
          '--vscode-foreground': '#333333',
          '--vscode-editor-background': '#ffffff',
          '--vscode-charts-blue': '#1a85ff',
          '--vscode-charts-red': '#e51400',
          '--vscode-charts-orange': '#c27d1a',
          '--vscode-charts-green': '#388a34',
          '--vscode-panel-border': '#e5e5e5',
          '--vscode-editorWidget-background': '#f3f3f3',
          '--vscode-font-family': 'sans-serif',
          '--vscode-font-size': '13px',
          '--vscode-list-activeSelectionBackground': '#0060c0',
          '--vscode-button-background': '#007acc',
          '--vscode-button-foreground': '#ffffff',
        };
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  };
  if (document.body) apply();
  else document.addEventListener('DOMContentLoaded', apply);
}

/** Share of a canvas' pixels that are not transparent: a drawn chart has some. */
export async function inkOf(page: Page, selector: string): Promise<number> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    if (!canvas.width || !canvas.height) return 0;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    return ink / (d.length / 4);
  });
}
