// Tables on a phone: styles.css turns each row of any table in the page into a card, each cell
// on a line of its own under its column's name. The name comes from the table's header row: this
// module copies it onto each body cell as `data-label` (the stylesheet shows it with ::before),
// for every table any page draws, as tables are added or refilled, so no page has to.

/** Gives each body cell of the tables under `root` its column's header text, where it has none. */
export function labelTableCells(root: ParentNode): void {
  for (const table of root.querySelectorAll('table')) {
    const head = table.tHead?.rows[0];
    if (!head) continue;
    const names: string[] = [];
    for (const th of head.cells) {
      const span = th.colSpan || 1;
      for (let i = 0; i < span; i++) names.push((th.textContent ?? '').trim());
    }
    for (const body of table.tBodies)
      for (const row of body.rows) {
        let column = 0;
        for (const cell of row.cells) {
          const name = names[column];
          if (name && cell.colSpan <= 1 && !cell.hasAttribute('data-label')) cell.dataset.label = name;
          column += cell.colSpan || 1;
        }
      }
  }
}

/** Labels the tables under `root` now and whenever nodes are added under it. */
export function watchTables(root: HTMLElement): void {
  labelTableCells(root);
  new MutationObserver(() => labelTableCells(root)).observe(root, { childList: true, subtree: true });
}
