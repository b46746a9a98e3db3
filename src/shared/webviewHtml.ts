// The model view's page: a strict Content-Security-Policy (scripts only with this page's nonce,
// styles and fonts only from the extension), one stylesheet, one script.

export interface PageParts {
  nonce: string;
  /** The webview's resource origin (webview.cspSource). */
  cspSource: string;
  scriptUri: string;
  /** One stylesheet, or several linked in order. */
  styleUri: string | readonly string[];
  title: string;
}

const escape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function modelViewHtml(p: PageParts): string {
  const csp = [
    "default-src 'none'",
    `img-src ${p.cspSource} data:`,
    `style-src ${p.cspSource} 'nonce-${p.nonce}'`,
    `font-src ${p.cspSource}`,
    `script-src 'nonce-${p.nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${(typeof p.styleUri === 'string' ? [p.styleUri] : p.styleUri).map((u) => `<link rel="stylesheet" href="${escape(u)}" nonce="${p.nonce}">`).join('\n')}
<title>${escape(p.title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${p.nonce}" src="${escape(p.scriptUri)}"></script>
</body>
</html>`;
}
