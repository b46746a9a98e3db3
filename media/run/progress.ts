// What the run view knows about a run, folded from its event stream: the loss per term over
// steps, accuracy per epoch, throughput and the ETA. No DOM here; the view draws from it.
import type { BaselineEvent, DistillEvent, EvalEvent, StartEvent } from '../../src/shared/distillRun';

export interface LossPoint {
  /** Steps done since the run began (epochs before a resume included). */
  x: number;
  loss: number;
  terms: Record<string, number>;
}

/** Most points kept per curve: older points are thinned so a long run stays cheap to draw. */
const MAX_POINTS = 1500;

export class RunProgress {
  start: StartEvent | null = null;
  points: LossPoint[] = [];
  evals: EvalEvent[] = [];
  /** The labels-only baseline's accuracy per epoch, next to the distilled student's. */
  baseline: BaselineEvent[] = [];
  epochsDone = 0;
  stepsDone = 0;
  lr: number | null = null;
  /** Samples per second, smoothed over recent steps. */
  throughput: number | null = null;
  phase = 'starting';
  /** What the phase is doing, in the engine's words. */
  phaseMessage = '';
  cache = '';
  cacheBytes: number | null = null;
  checkpoint: string | null = null;
  errors: string[] = [];
  events = 0;
  /** Term names in the order they first appeared. */
  terms: string[] = [];

  get stepsPerEpoch(): number {
    return this.start?.stepsPerEpoch ?? 0;
  }

  get totalSteps(): number {
    return this.start ? this.start.epochs * this.start.stepsPerEpoch : 0;
  }

  /** Steps done when `step` (1-based, within the epoch) of `epoch` (1-based) has finished. */
  private globalStep(epoch: number, step: number): number {
    return (epoch - 1) * this.stepsPerEpoch + step;
  }

  ingest(e: DistillEvent): void {
    this.events++;
    switch (e.event) {
      case 'phase':
        this.phase = e.chainSteps ? `${e.phase} (step ${e.chainStep} of ${e.chainSteps})` : e.phase;
        this.phaseMessage = e.message;
        break;
      case 'cache':
        this.cache =
          e.state === 'progress' && e.done !== undefined
            ? `${e.split} cache: ${e.done} / ${e.samples} samples`
            : `${e.split} cache ${e.state}${e.reason ? ` (${e.reason})` : ''}: ${e.samples} samples`;
        this.cacheBytes = e.bytes;
        break;
      case 'start':
        // A resumed run starts again with the same totals: its curve continues where it stopped.
        this.start = e;
        break;
      case 'step': {
        this.stepsDone = this.globalStep(e.epoch, e.step);
        this.lr = e.lr;
        if (Number.isFinite(e.samplesPerSec) && e.samplesPerSec > 0) {
          this.throughput = this.throughput === null ? e.samplesPerSec : 0.8 * this.throughput + 0.2 * e.samplesPerSec;
        }
        for (const t of Object.keys(e.terms)) if (!this.terms.includes(t)) this.terms.push(t);
        this.points.push({ x: this.stepsDone, loss: e.loss, terms: e.terms });
        if (this.points.length > MAX_POINTS) this.points = this.points.filter((_, i) => i % 2 === 1);
        break;
      }
      case 'epoch':
        this.epochsDone = Math.max(this.epochsDone, e.epoch);
        this.stepsDone = Math.max(this.stepsDone, this.globalStep(e.epoch + 1, 0));
        break;
      case 'eval':
        this.evals = this.evals
          .filter((v) => v.epoch !== e.epoch)
          .concat(e)
          .sort((a, b) => a.epoch - b.epoch);
        break;
      case 'baseline':
        this.baseline = this.baseline
          .filter((v) => v.epoch !== e.epoch)
          .concat(e)
          .sort((a, b) => a.epoch - b.epoch);
        break;
      case 'checkpoint':
        this.checkpoint = `${e.path} (epoch ${e.epoch}, step ${e.step}, ${e.reason})`;
        break;
      case 'error':
        this.errors.push([e.message, e.where ? `at ${e.where}` : '', e.hint ?? ''].filter(Boolean).join(' — '));
        break;
      default:
        break;
    }
  }

  /** Seconds left at the current throughput, null before it is known. */
  etaSeconds(): number | null {
    if (!this.start || this.throughput === null || this.stepsPerEpoch === 0) return null;
    const samplesPerStep = this.start.samples / this.stepsPerEpoch;
    const left = Math.max(0, this.totalSteps - this.stepsDone);
    return (left * samplesPerStep) / this.throughput;
  }

  bestAccuracy(): number | null {
    const values = this.evals.map((v) => v.accuracy).filter((a): a is number => a !== null);
    return values.length ? Math.max(...values) : null;
  }
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
