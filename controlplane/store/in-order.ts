// Watch events that must wait for a read (a delete's last state, a selective
// watch's previous state) hold back the events after them, so a watcher sees
// them in the order etcd sent them.

/** Steps run one after another; none runs before the steps added earlier have finished. */
export class InOrder {
  private tail: Promise<void> | undefined;

  /** Whether a step is waiting or running: a new event must queue behind it. */
  get busy(): boolean {
    return this.tail !== undefined;
  }

  /** Runs `step` after the earlier ones; a step that fails goes to `onError` and the next runs. */
  add(step: () => void | Promise<void>, onError: (err: Error) => void): void {
    const tail = (this.tail ?? Promise.resolve()).then(step).catch((err: unknown) => {
      onError(err instanceof Error ? err : new Error(String(err)));
    });
    this.tail = tail;
    void tail.then(() => {
      if (this.tail === tail) this.tail = undefined;
    });
  }
}
