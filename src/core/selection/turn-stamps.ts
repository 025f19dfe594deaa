/** Breaks ties between equally loaded servers by "picked longest ago", which rotates them in id order. */

/** Servers never picked order by id, ahead of every picked one. */
const NEVER = -(2 ** 40);

export class TurnStamps {
  readonly #stamp: number[] = [];
  #clock = 0;

  before(a: number, b: number): boolean {
    return (this.#stamp[a] ?? NEVER + a) < (this.#stamp[b] ?? NEVER + b);
  }

  picked(id: number): void {
    this.#stamp[id] = ++this.#clock;
  }
}
