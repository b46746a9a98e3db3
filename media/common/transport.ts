// Where a webview app runs: in a VS Code webview (acquireVsCodeApi exists: messages and state go
// through it) or standalone, as the offline HTML report (no host: nothing is posted, state lives in
// memory). The one place that knows about acquireVsCodeApi.

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

export interface Transport {
  /** False outside VS Code (the offline HTML report). */
  readonly inVsCode: boolean;
  post(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
  /** Every message the host posts (none outside VS Code). */
  onMessage(fn: (msg: unknown) => void): void;
}

let transport: Transport | undefined;

/** The page's transport; VS Code allows acquireVsCodeApi once per page, so it is made once. */
export function connect(): Transport {
  if (transport) return transport;
  const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  let memory: unknown;
  transport = {
    inVsCode: api !== undefined,
    post: (msg) => api?.postMessage(msg),
    getState: () => (api ? api.getState() : memory),
    setState: (s) => (api ? api.setState(s) : (memory = s)),
    onMessage: (fn) => {
      if (api) window.addEventListener('message', (e: MessageEvent) => fn(e.data));
    },
  };
  return transport;
}
