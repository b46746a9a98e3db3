// The offline HTML report has no VS Code to set the theme's variables: it sets them itself, light
// or dark after the system setting, and follows the setting when it changes (the charts read the
// variables when they draw, and redraw on the body's class change this makes).

/** Per variable, its value (both themes) or its [light, dark] values. */
const STANDALONE_THEME: Record<string, string | [string, string]> = {
  '--vscode-font-family': 'system-ui, -apple-system, "Segoe UI", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-foreground': ['#333333', '#cccccc'],
  '--vscode-editor-background': ['#ffffff', '#1e1e1e'],
  '--vscode-editorWidget-background': ['#f3f3f3', '#252526'],
  '--vscode-panel-border': ['#d4d4d4', '#3c3c3c'],
  '--vscode-widget-border': ['#d4d4d4', '#3c3c3c'],
  '--vscode-charts-blue': ['#1a85ff', '#3794ff'],
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-red': ['#e51400', '#f14c4c'],
  '--vscode-charts-green': ['#388a34', '#89d185'],
  '--vscode-charts-purple': ['#652d90', '#b180d7'],
  '--vscode-charts-yellow': ['#bf8803', '#cca700'],
  '--vscode-list-hoverBackground': ['#e8e8e8', '#2a2d2e'],
  '--vscode-list-activeSelectionBackground': ['#0060c0', '#04395e'],
  '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-inputValidation-errorBackground': ['#f2dede', '#5a1d1d'],
  '--vscode-inputValidation-errorBorder': '#be1100',
  '--vscode-editorWarning-foreground': ['#bf8803', '#cca700'],
  '--vscode-input-background': ['#ffffff', '#3c3c3c'],
  '--vscode-input-foreground': ['#333333', '#cccccc'],
  '--vscode-input-border': ['#cecece', '#3c3c3c'],
  '--vscode-button-background': ['#007acc', '#0e639c'],
  '--vscode-button-foreground': '#ffffff',
  '--vscode-focusBorder': '#0090f1',
  '--vscode-panel-background': ['#ffffff', '#1e1e1e'],
  '--vscode-panelTitle-activeForeground': ['#424242', '#e7e7e7'],
  '--vscode-panelTitle-activeBorder': ['#424242', '#e7e7e7'],
  '--vscode-panelTitle-inactiveForeground': ['#6f6f6f', '#e7e7e799'],
  '--vscode-settings-textInputBackground': ['#ffffff', '#292929'],
  '--vscode-settings-textInputForeground': ['#333333', '#cccccc'],
  '--vscode-settings-headerBorder': ['#cecece', '#3c3c3c'],
  '--vscode-input-placeholderForeground': ['#767676', '#a6a6a6'],
};

export function followSystemTheme(): void {
  const dark = matchMedia('(prefers-color-scheme: dark)');
  const apply = () => {
    for (const [name, value] of Object.entries(STANDALONE_THEME)) {
      document.body.style.setProperty(name, typeof value === 'string' ? value : value[dark.matches ? 1 : 0]);
    }
    document.body.classList.toggle('standalone-dark', dark.matches);
  };
  apply();
  dark.addEventListener('change', apply);
}
