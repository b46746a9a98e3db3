// Where the report app runs: in a VS Code webview (acquireVsCodeApi exists: messages and state go
// through it) or standalone in the offline HTML report (no host: the report is read from the page,
// state lives in memory and the host-only actions are hidden).
import type { FromReportView, ToReportView } from '../../src/shared/reportProtocol';
import { REPORT_DATA_ELEMENT_ID } from '../../src/shared/reportProtocol';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

export interface Host {
  /** False in the offline HTML report. */
  readonly inVsCode: boolean;
  post(msg: FromReportView): void;
  getState(): unknown;
  setState(state: unknown): void;
  onMessage(fn: (msg: ToReportView) => void): void;
}

export function connect(): Host {
  const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  let memory: unknown;
  return {
    inVsCode: api !== undefined,
    post: (msg) => api?.postMessage(msg),
    getState: () => (api ? api.getState() : memory),
    setState: (s) => (api ? api.setState(s) : (memory = s)),
    onMessage: (fn) => window.addEventListener('message', (e: MessageEvent) => {
      const m = e.data as ToReportView | null;
      if (api && m && typeof m === 'object' && typeof m.type === 'string') fn(m);
    }),
  };
}

/** The report embedded in the offline HTML page, parsed as JSON (not yet validated); undefined when absent. */
export function embeddedReport(): unknown {
  const el = document.getElementById(REPORT_DATA_ELEMENT_ID);
  if (!el) return undefined;
  try {
    return JSON.parse(el.textContent ?? '');
  } catch (e) {
    throw new Error(`the report in this page is not valid JSON (${(e as Error).message})`);
  }
}
