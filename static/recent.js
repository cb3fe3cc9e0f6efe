// The Recent list, as chat lists are: the newest at the bottom and kept in view, unless
// the reader has scrolled up to read; then a hint says newer ones came and jumps down.
const MAX_ITEMS = 500; // the oldest go once the list holds more
const SLACK = 4; // px from the bottom that still count as at the bottom

export class Recent {
  constructor(section) {
    this.list = section.querySelector('[data-testid=history]');
    this.hint = section.querySelector('[data-testid=history-newer]');
    this.hint.addEventListener('click', () => this.toBottom());
    this.list.addEventListener('scroll', () => {
      if (this.atBottom()) this.hint.hidden = true;
    });
    this.toBottom();
  }

  atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight <= SLACK;
  }

  toBottom() {
    this.list.scrollTop = this.list.scrollHeight;
    this.hint.hidden = true;
  }

  // add appends the items; called with the newest last.
  add(items) {
    if (!items.length) return;
    const follow = this.atBottom();
    this.list.append(...items);
    const extra = this.list.childElementCount - MAX_ITEMS;
    for (let i = 0; i < extra; i++) this.list.firstElementChild.remove();
    if (follow) this.toBottom();
    else if (items.some((li) => !li.hidden)) this.hint.hidden = false;
  }

  // changed keeps the bottom in view after items were hidden or shown.
  changed() {
    if (this.hint.hidden) this.toBottom();
  }
}
