function summarize(items) {
  const total = items.reduce((sum, item) => sum + item.amount, 0);
  const largest = items.reduce((best, item) => (item.amount > best.amount ? item : best), items[0]);
  return { count: items.length, total, largest: largest ? largest.name : null };
}
