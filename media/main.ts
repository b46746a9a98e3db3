// The webview app (bundled for the browser). It talks to the host only through the typed
// protocol in src/shared; the overview is built by the extension issue.
export {};
