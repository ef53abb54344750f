// Inline SVG icons: glyphs such as "⧗" or "🔇" are missing from many system fonts and render as empty boxes.
// Each icon is a small currentColor drawing with an aria-label (role="img"), so screen readers name it too.
const svg = (label, body) =>
  `<svg class="icon" role="img" aria-label="${label}" viewBox="0 0 16 16" width="14" height="14" fill="none" ` +
  `stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"><title>${label}</title>${body}</svg>`;

export const ICONS = {
  // an hourglass: sent, not yet delivered
  pending: svg("nog niet afgeleverd", '<path d="M4 1.5h8M4 14.5h8M5 1.5c0 4 6 4 6 6.5s-6 2.5-6 6.5M11 1.5c0 4-6 4-6 6.5s6 2.5 6 6.5"/>'),
  // a speaker with a cross: sound is off
  muted: svg("geluid uit", '<path d="M2 6h3l4-3.5v11L5 10H2z"/><path d="M11 6l4 4M15 6l-4 4"/>'),
  // a tick: delivered
  delivered: svg("afgeleverd", '<path d="M2.5 8.5l3.5 3.5 7.5-8"/>'),
};
