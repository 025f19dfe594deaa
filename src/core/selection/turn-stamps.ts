/** Breaks ties between equally loaded servers by "picked longest ago", which rotates them in id order. */

/** Servers never picked come first (ordered by id, the heap's last tie-break), ahead of every picked one. */
const NEVER = -1;

export class TurnStamps {
  readonly #stamp: number[] = [];
  #clock = 0;

  of(id: number): number {
    return this.#stamp[id] ?? NEVER;
  }

  picked(id: number): void {
    this.#stamp[id] = ++this.#clock;
  }
}
