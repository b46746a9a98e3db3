// The line under the toolbar that says what the host is doing for the panel: progress with a
// Cancel button while an action runs, then its outcome or its error.
import { clear, h } from '../common/dom';

export class StatusLine {
  readonly element = h('div', { className: 'status', id: 'status', role: 'status' });
  busy = false;
  /** The shown view's: a new report replaces the view, and its listener the old one. */
  private listener: (busy: boolean) => void = () => undefined;

  constructor(private readonly onCancel: () => void) {}

  onBusyChange(fn: (busy: boolean) => void): void {
    this.listener = fn;
    fn(this.busy);
  }

  progress(message: string, fraction: number | null): void {
    clear(this.element);
    const bar = h('progress', { max: 1 });
    if (fraction !== null) bar.value = fraction;
    this.element.append(bar, h('span', { className: 'status-text' }, message), h('button', { id: 'cancel', onclick: () => this.onCancel() }, 'Cancel'));
    this.element.dataset.kind = 'busy';
    this.setBusy(true);
  }

  done(message: string): void {
    this.show('done', message);
  }

  error(message: string): void {
    this.show('error', message);
  }

  private show(kind: 'done' | 'error', message: string): void {
    clear(this.element);
    this.element.append(h('span', { className: 'status-text' }, message));
    this.element.dataset.kind = kind;
    this.element.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    this.setBusy(false);
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.listener(busy);
  }
}
