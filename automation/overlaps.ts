/**
 * Which cells are live (deploying to destroyed) while each trial runs, so that a trial run
 * beside other cells (`--parallel` > 1) says which ones shared the machine with it: the
 * analysis can tell interference from an effect.
 */
export class Overlaps {
  private readonly live = new Set<string>();
  private readonly watchers = new Set<Set<string>>();
  started(id: string): void {
    this.live.add(id);
    for (const w of this.watchers) w.add(id);
  }
  ended(id: string): void {
    this.live.delete(id);
  }
  /** Starts watching for `id`'s trial: the cells live now and those starting before `stop`. */
  watch(id: string): { stop(): string[] } {
    const seen = new Set([...this.live].filter((c) => c !== id));
    const watcher = new Set<string>();
    this.watchers.add(watcher);
    return {
      stop: () => {
        this.watchers.delete(watcher);
        for (const c of watcher) if (c !== id) seen.add(c);
        return [...seen].sort();
      },
    };
  }
}
