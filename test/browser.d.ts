// The tests that drive Chromium (test/webview, test/ui) write code that runs in the page
// (page.evaluate callbacks), typed with the DOM. A lib is global to a program, so this adds the DOM
// to the whole build of tsconfig.json; src/tsconfig.json checks the extension, the CLI and the
// engine without it, and media/tsconfig.json checks the webviews with it.
/// <reference lib="dom" />
