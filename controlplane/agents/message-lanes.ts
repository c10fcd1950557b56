// The order an agent's messages are handled in: as strict as their effects
// need, and no stricter. Two status reports of one pod handled concurrently
// could land old-over-new (the older one retrying after a conflict), and
// the agent never resends what it sent, so one pod's messages keep the order
// they were sent in. Different pods' messages run concurrently: their writes
// then go to etcd together (store/txn-batcher.ts) instead of each waiting
// for the one before to commit, which for ten pods starting at once on one
// node was a queue of some forty writes, the last pod's status at its end.
// A message outside every lane (register) waits for all before it, and all
// after it wait for it.

export class MessageLanes {
  private barrier: Promise<void> = Promise.resolve();
  private readonly lanes = new Map<string, Promise<void>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  push(lane: string | undefined, handle: () => Promise<void>): void {
    if (lane === undefined) {
      const before = Promise.all([this.barrier, ...this.lanes.values()]);
      this.lanes.clear();
      this.barrier = before.then(handle).catch(this.onError);
      return;
    }
    const next = (this.lanes.get(lane) ?? this.barrier).then(handle).catch(this.onError);
    this.lanes.set(lane, next);
    // An idle lane is forgotten: the map holds only pods with messages in flight.
    void next.then(() => {
      if (this.lanes.get(lane) === next) this.lanes.delete(lane);
    });
  }

  /** Lanes with messages in flight (for tests). */
  get busy(): number {
    return this.lanes.size;
  }
}
