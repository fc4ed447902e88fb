// A handle's share in keeping the process alive, as a libuv handle's ref in node: the user says
// whether the handle should count (ref()/unref()), the handle says whether it is open, and the
// stack holds the process while any handle both counts and is open (Stack.ref).

/** The stack side: a count of held refs. */
export interface ProcessRefs {
  ref(delta: 1 | -1): void;
}

export class HandleRef {
  /** ref() (true, the default) or unref() (false). */
  refd = true;
  private holding = false;

  /** Takes or gives back this handle's ref on `stack`, now that the handle is `open` or not. */
  sync(stack: ProcessRefs, open: boolean): void {
    const want = this.refd && open;
    if (want === this.holding) return;
    this.holding = want;
    stack.ref(want ? 1 : -1);
  }
}
