// The one way the extension registers a command. What every command needs, done once:
//  - the arguments a menu adds are removed before the handler sees them. VS Code calls a command
//    from explorer/context with (uri, selectedUris[]) and from editor/title or editor/context with
//    (uri, {groupId, editorIndex}); a handler that read its second parameter as options would take
//    those for choices. Handlers get the target (a URI, a tree item, a run folder) and only the
//    arguments the extension's own callers pass (a tree item's `command.arguments`);
//  - a failure is logged and shown as one message, never thrown into the workbench.
import * as vscode from 'vscode';
import { errorMessage } from '../../core/errors';

/** What VS Code appends after the target when a menu invokes a command. */
export function isMenuContext(arg: unknown): boolean {
  if (Array.isArray(arg)) return arg.every((a) => a instanceof vscode.Uri);
  return typeof arg === 'object' && arg !== null && ('groupId' in arg || 'editorIndex' in arg);
}

/** The arguments a handler sees: the menu's additions cut off. */
export function ownArguments(args: readonly unknown[]): unknown[] {
  const cut = args.findIndex((a, i) => i > 0 && isMenuContext(a));
  return cut < 0 ? [...args] : args.slice(0, cut);
}

/** A file target from a command argument: a Uri, a path or a URI string. */
export function asUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return arg.includes('://') ? vscode.Uri.parse(arg) : vscode.Uri.file(arg);
  return undefined;
}

/**
 * Registers `handler` under `id`. Its parameters are what callers may pass (typed as the handler
 * declares them: each handler checks what it reads, since a palette call passes nothing).
 */
export type CommandRegistrar = <A extends unknown[], R>(id: string, handler: (...args: A) => Promise<R> | R) => vscode.Disposable;

/** The registrar every feature registers its commands with, logging to `log`. */
export function commandRegistrar(log: vscode.LogOutputChannel): CommandRegistrar {
  return (id, handler) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...(ownArguments(args) as Parameters<typeof handler>));
      } catch (e) {
        log.error(`${id}: ${errorMessage(e)}`);
        void vscode.window.showErrorMessage(errorMessage(e));
        return undefined;
      }
    });
}
