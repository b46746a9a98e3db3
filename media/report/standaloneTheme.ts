// The offline HTML report has no VS Code to set the theme's variables: it sets them itself, light
// or dark after the system setting, and follows the setting when it changes (the charts read the
// variables when they draw, and redraw on the body's class change this makes).
// The values are data: standaloneTheme.json gives per variable its value (both themes) or its
// [light, dark] values.
import theme from './standaloneTheme.json';

const STANDALONE_THEME: Record<string, string | string[]> = theme;

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
