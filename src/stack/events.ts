// Socket events raised inside the datapath are delivered after it returns, as Linux wakes a
// socket's user from sk_data_ready / sk_state_change instead of running it in the softirq: a
// handler that writes, destroys or closes then never re-enters the layer that raised the event.
// Outside a turn (a user's own call, a timer), events are delivered at once, as before.

/** Something with queued events (a socket, a server, a UDP socket). */
export interface EventTarget {
  /** Delivers what was queued; called once per post, outside the datapath. */
  deliverEvents(): void;
}

export class EventQueue {
  private depth = 0;
  // Slots [head, tail) are queued. The array keeps its length once grown: truncating it after each
  // drain would free its backing store, and the next turn's first post would allocate a new one.
  private readonly q: (EventTarget | undefined)[] = [];
  private head = 0;
  private tail = 0;

  /** A datapath turn starts (a NAPI poll, a loopback turn). Turns may nest. */
  enter(): void {
    this.depth++;
  }

  /** The turn ends: the outermost one delivers what its layers queued, in order. */
  leave(): void {
    if (--this.depth === 0) this.drain();
  }

  /** Queues `t` for the end of the turn, or delivers at once outside one. */
  post(t: EventTarget): void {
    if (this.depth === 0) t.deliverEvents();
    else if (this.tail < this.q.length) this.q[this.tail++] = t;
    else this.tail = this.q.push(t);
  }

  private drain(): void {
    // Events handlers raise while they run queue behind the rest and go in the same drain.
    this.depth++;
    try {
      while (this.head < this.tail) {
        const t = this.q[this.head]!;
        this.q[this.head++] = undefined;
        t.deliverEvents();
      }
      this.head = 0;
      this.tail = 0;
    } finally {
      this.depth--;
      // A handler threw (node would report it as uncaught): what was not delivered yet stays
      // queued for the next turn rather than being lost.
      if (this.head > 0) {
        this.q.copyWithin(0, this.head, this.tail);
        this.q.fill(undefined, this.tail - this.head, this.tail);
        this.tail -= this.head;
        this.head = 0;
      }
    }
  }
}
