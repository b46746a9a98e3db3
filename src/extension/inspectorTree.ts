// The "Model Inspector" sidebar tree for the active model: inputs, outputs, nodes by op type and
// by name scope, initializers and constants, subgraphs. Children are computed when a branch is
// expanded, and long lists are split into pages, so a model of 10,000 nodes stays responsive.
import * as vscode from 'vscode';
import type { NodeRow, TensorRow } from '../shared/modelViewProtocol';
import type { ValueSummary } from '../shared/summary';
import { formatBytes, formatShape } from '../shared/format';
import type { ModelStore } from './modelStore';
import { settings } from './common/settings';

type Section = 'inputs' | 'outputs' | 'byOp' | 'byScope' | 'tensors' | 'subgraphs';

export type InspectorItem =
  | { kind: 'section'; section: Section; label: string; count: number }
  | { kind: 'group'; label: string; description: string; nodes: NodeRow[]; scopes?: Scope }
  | { kind: 'page'; label: string; items: InspectorItem[] }
  | { kind: 'node'; row: NodeRow; label: string }
  | { kind: 'tensor'; row: TensorRow }
  | { kind: 'value'; value: ValueSummary; io: 'input' | 'output' }
  | { kind: 'message'; label: string };

interface Scope {
  children: Map<string, Scope>;
  nodes: NodeRow[];
  total: number;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Scopes from exporter names such as `/encoder/layer.0/attention/MatMul`. */
function scopeTree(rows: NodeRow[]): Scope {
  const root: Scope = { children: new Map(), nodes: [], total: 0 };
  for (const row of rows) {
    const parts = row.name.split('/').filter(Boolean);
    let s = root;
    s.total++;
    for (const part of parts.slice(0, -1)) {
      let next = s.children.get(part);
      if (!next) s.children.set(part, (next = { children: new Map(), nodes: [], total: 0 }));
      s = next;
      s.total++;
    }
    s.nodes.push(row);
  }
  return root;
}

export class InspectorTree implements vscode.TreeDataProvider<InspectorItem> {
  private readonly changed = new vscode.EventEmitter<InspectorItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly parents = new WeakMap<InspectorItem, InspectorItem>();
  private readonly childCache = new WeakMap<InspectorItem, InspectorItem[]>();
  private roots?: Promise<InspectorItem[]>;

  constructor(private readonly store: ModelStore) {
    store.onDidChangeActive(() => this.refresh());
  }

  refresh(): void {
    this.roots = undefined;
    this.changed.fire(undefined);
  }

  getTreeItem(item: InspectorItem): vscode.TreeItem {
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    const none = vscode.TreeItemCollapsibleState.None;
    const uri = this.store.active;
    switch (item.kind) {
      case 'section': {
        const t = new vscode.TreeItem(item.label, item.count ? collapsed : none);
        t.description = String(item.count);
        t.id = `section:${item.section}`;
        return t;
      }
      case 'group': {
        const t = new vscode.TreeItem(item.label, collapsed);
        t.description = item.description;
        return t;
      }
      case 'page':
        return new vscode.TreeItem(item.label, collapsed);
      case 'node': {
        const r = item.row;
        const t = new vscode.TreeItem(item.label, none);
        t.description = `${r.domain ? `${r.domain}::` : ''}${r.op}${r.integer ? ` · int (${r.integer})` : ''}`;
        const outs = r.outputs.map((o) => `\`${o.name}\` ${o.type ?? '?'} ${formatShape(o.shape)}`).join('  \n');
        t.tooltip = new vscode.MarkdownString(
          `**${r.name}** (${r.op}) in \`${r.graph}\`  \ninputs: ${r.inputs.map((i) => `\`${i}\``).join(', ') || 'none'}  \noutputs:  \n${outs}`,
        );
        t.contextValue = 'onnxNode';
        t.iconPath = new vscode.ThemeIcon(r.integer ? 'symbol-numeric' : 'symbol-method');
        t.command = { command: 'onnxCompress.revealNode', title: 'Reveal Node', arguments: [uri, r.name] };
        return t;
      }
      case 'tensor': {
        const r = item.row;
        const t = new vscode.TreeItem(r.name, none);
        t.description = `${r.type} ${formatShape(r.shape)} · ${formatBytes(r.bytes)}${r.role === 'constant' ? ' · Constant' : ''}${r.quant ? ` · ${r.quant.type}` : ''}`;
        t.tooltip = `${r.role} in ${r.graph}`;
        t.contextValue = 'onnxTensor';
        t.iconPath = new vscode.ThemeIcon('symbol-constant');
        t.command = { command: 'onnxCompress.showTensorStatistics', title: 'Show Tensor Statistics', arguments: [uri, r.name] };
        return t;
      }
      case 'value': {
        const v = item.value;
        const t = new vscode.TreeItem(v.name, none);
        t.description = `${v.elemType} ${v.kind === 'tensor' ? formatShape(v.shape) : v.kind}`;
        t.contextValue = 'onnxValue';
        t.iconPath = new vscode.ThemeIcon(item.io === 'input' ? 'arrow-right' : 'arrow-left');
        return t;
      }
      case 'message':
        return new vscode.TreeItem(item.label, none);
    }
  }

  getParent(item: InspectorItem): InspectorItem | undefined {
    return this.parents.get(item);
  }

  async getChildren(item?: InspectorItem): Promise<InspectorItem[]> {
    if (!item) return (this.roots ??= this.rootItems());
    let children = this.childCache.get(item);
    if (!children) {
      children = this.paged(await this.childrenOf(item));
      for (const c of children) this.parents.set(c, item);
      this.childCache.set(item, children);
    }
    return children;
  }

  private async rootItems(): Promise<InspectorItem[]> {
    const uri = this.store.active;
    if (!uri) return [];
    try {
      const view = await this.store.get(uri);
      const { summary } = view.overview();
      const { rows } = await view.nodes(false);
      const subgraphs = new Set(rows.map((r) => r.graph).filter((g) => g !== 'main'));
      const section = (s: Section, label: string, count: number): InspectorItem => ({ kind: 'section', section: s, label, count });
      return [
        section('inputs', 'Inputs', summary.inputs.length),
        section('outputs', 'Outputs', summary.outputs.length),
        section('byOp', 'Nodes by op type', rows.length),
        section('byScope', 'Nodes by scope', rows.length),
        section('tensors', 'Initializers and constants', view.tensors().length),
        section('subgraphs', 'Subgraphs', subgraphs.size),
      ];
    } catch (e) {
      return [{ kind: 'message', label: `Cannot read the model: ${e instanceof Error ? e.message : e}` }];
    }
  }

  private async childrenOf(item: InspectorItem): Promise<InspectorItem[]> {
    const uri = this.store.active;
    if (!uri) return [];
    const view = await this.store.get(uri);
    const nodeItem = (row: NodeRow, label = row.name): InspectorItem => ({ kind: 'node', row, label });
    switch (item.kind) {
      case 'section': {
        const { rows } = await view.nodes(false);
        switch (item.section) {
          case 'inputs':
            return view.overview().summary.inputs.map((value) => ({ kind: 'value', value, io: 'input' }));
          case 'outputs':
            return view.overview().summary.outputs.map((value) => ({ kind: 'value', value, io: 'output' }));
          case 'tensors':
            return [...view.tensors()].sort((a, b) => b.bytes - a.bytes).map((row) => ({ kind: 'tensor', row }));
          case 'byOp': {
            const groups = groupBy(rows, (r) => r.op);
            return [...groups]
              .sort((a, b) => b[1].length - a[1].length)
              .map(([op, nodes]) => ({ kind: 'group', label: op, description: String(nodes.length), nodes }));
          }
          case 'byScope':
            return this.scopeChildren(scopeTree(rows.filter((r) => r.graph === 'main')));
          case 'subgraphs': {
            const groups = groupBy(
              rows.filter((r) => r.graph !== 'main'),
              (r) => r.graph,
            );
            return [...groups].map(([graph, nodes]) => ({ kind: 'group', label: graph.replace(/^main\//, ''), description: `${nodes.length} nodes`, nodes }));
          }
        }
        return [];
      }
      case 'group':
        return item.scopes ? this.scopeChildren(item.scopes) : item.nodes.map((r) => nodeItem(r));
      case 'page':
        return item.items;
      default:
        return [];
    }
  }

  private scopeChildren(scope: Scope): InspectorItem[] {
    const groups: InspectorItem[] = [...scope.children].map(([name, s]) => ({
      kind: 'group',
      label: name,
      description: `${s.total} nodes`,
      nodes: [],
      scopes: s,
    }));
    return [...groups, ...scope.nodes.map((row): InspectorItem => ({ kind: 'node', row, label: row.name.split('/').pop() || row.name }))];
  }

  /** Long lists become pages of `pageSize` items. */
  private paged(items: InspectorItem[]): InspectorItem[] {
    const size = settings().pageSize;
    if (items.length <= size) return items;
    const pages: InspectorItem[] = [];
    for (let i = 0; i < items.length; i += size) {
      const page: InspectorItem = { kind: 'page', label: `${i + 1}–${Math.min(i + size, items.length)}`, items: items.slice(i, i + size) };
      for (const c of page.items) this.parents.set(c, page);
      pages.push(page);
    }
    return pages;
  }

  /** The tree item of a node (by op type) or a tensor, for revealing it. */
  async find(kind: 'node' | 'tensor', name: string): Promise<InspectorItem | undefined> {
    const roots = await this.getChildren();
    const section = roots.find((r) => r.kind === 'section' && r.section === (kind === 'node' ? 'byOp' : 'tensors'));
    if (!section) return undefined;
    const match = (i: InspectorItem) => (i.kind === 'node' && i.row.name === name) || (i.kind === 'tensor' && i.row.name === name);
    const search = async (items: InspectorItem[]): Promise<InspectorItem | undefined> => {
      const hit = items.find(match);
      if (hit) return hit;
      for (const i of items) {
        if (i.kind === 'page' || (i.kind === 'group' && i.nodes.some((n) => n.name === name))) {
          const found = await search(await this.getChildren(i));
          if (found) return found;
        }
      }
      return undefined;
    };
    return search(await this.getChildren(section));
  }
}
