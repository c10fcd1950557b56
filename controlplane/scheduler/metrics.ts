// Hooks the scheduler calls so that whoever wires metrics (prom-client, a
// benchmark) can count without the scheduler knowing how. Every hook is
// optional and must not throw. Named after kube-scheduler's metrics:
// scheduler_schedule_attempts_total{result}, scheduler_scheduling_attempt_duration_seconds,
// scheduler_pending_pods.

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

export interface SchedulerMetrics {
  /** One scheduling attempt ended; seconds from pop to decision (and bind, when scheduled). */
  attempt?(result: AttemptResult, seconds: number): void;
  /** Pods waiting for a node, after each change to the queue the scheduler makes. */
  pending?(count: number): void;
  /** A pod was bound; seconds since its creationTimestamp (second resolution). */
  podScheduled?(secondsSinceCreation: number): void;
  /**
   * Called on start with a reader of the queue's sizes (for a gauge computed
   * at scrape time, so nothing is counted per event), and with undefined on stop.
   */
  queueSizes?(read: (() => { active: number; backoff: number }) | undefined): void;
}
