// VS Code's theme as a webview sees it (a body class and --vscode-* variables), for pages driven
// in Chromium. Passed to page.addInitScript / page.evaluate, so it must stay self-contained.
export function setVsCodeTheme(theme: 'dark' | 'light'): void {
  const apply = () => {
    const dark = theme === 'dark';
    document.body.className = dark ? 'vscode-dark' : 'vscode-light';
    const vars: Record<string, string> = dark
      ? { '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1e1e1e', '--vscode-charts-blue': '#3794ff', '--vscode-charts-orange': '#d18616', '--vscode-charts-green': '#89d185', '--vscode-panel-border': '#3c3c3c', '--vscode-editorWidget-background': '#252526', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px', '--vscode-button-background': '#0e639c', '--vscode-button-foreground': '#ffffff' }
      : { '--vscode-foreground': '#333333', '--vscode-editor-background': '#ffffff', '--vscode-charts-blue': '#1a85ff', '--vscode-charts-orange': '#c27d1a', '--vscode-charts-green': '#388a34', '--vscode-panel-border': '#e5e5e5', '--vscode-editorWidget-background': '#f3f3f3', '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px', '--vscode-button-background': '#007acc', '--vscode-button-foreground': '#ffffff' };
    for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
  };
  if (document.body) apply();
  else document.addEventListener('DOMContentLoaded', apply);
}
