// The page of every webview: a strict Content-Security-Policy (scripts only with this page's nonce,
// styles and fonts only from the extension), its stylesheets, one script.

export interface PageParts {
  nonce: string;
  /** The webview's resource origin (webview.cspSource). */
  cspSource: string;
  scriptUri: string;
  /** One stylesheet, or several linked in order. */
  styleUri: string | readonly string[];
  title: string;
}

export const escapeHtml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page under a Content-Security-Policy: `head` (styles) before the title, `body` inside <body>. */
export function htmlPage(p: { csp: string; title: string; head: string; body: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${p.csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${p.head}
<title>${escapeHtml(p.title)}</title>
</head>
<body>
${p.body}
</body>
</html>`;
}

export function webviewPageHtml(p: PageParts): string {
  const csp = [
    "default-src 'none'",
    `img-src ${p.cspSource} data:`,
    `style-src ${p.cspSource} 'nonce-${p.nonce}'`,
    `font-src ${p.cspSource}`,
    `script-src 'nonce-${p.nonce}'`,
  ].join('; ');
  return htmlPage({
    csp,
    title: p.title,
    head: (typeof p.styleUri === 'string' ? [p.styleUri] : p.styleUri)
      .map((u) => `<link rel="stylesheet" href="${escapeHtml(u)}" nonce="${p.nonce}">`)
      .join('\n'),
    body: `<div id="app"></div>\n<script nonce="${p.nonce}" src="${escapeHtml(p.scriptUri)}"></script>`,
  });
}
