/** Renders the study's results as one SVG: p50 and p99 per algorithm (log scale), and each server's share of traffic. */
import type { AlgorithmResult } from './simulate.ts';

const COLORS = ['#4e79a7', '#e15759', '#f28e2b', '#76b7b2', '#59a14f', '#b07aa1'];
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(results: readonly AlgorithmResult[], serverNames: readonly string[], title: string): string {
  const rowHeight = 28;
  const left = 170;
  const panelWidth = 360;
  const gap = 60;
  const top = 70;
  const height = top + results.length * rowHeight + 70;
  const width = left + panelWidth * 2 + gap + 30;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`);

  // Left panel: latency on a log scale from 1 ms to the largest p99.
  const maxMs = Math.max(...results.map((r) => r.p99Ms), 10);
  const logMax = Math.log10(maxMs * 1.2);
  const x = (ms: number): number => left + (Math.log10(Math.max(ms, 1)) / logMax) * panelWidth;
  parts.push(`<text x="${left + panelWidth / 2}" y="${top - 22}" text-anchor="middle" font-weight="bold">latency, ms (log scale): p50 dark, p99 light</text>`);
  for (let decade = 1; decade <= maxMs * 1.2; decade *= 10) {
    parts.push(`<line x1="${x(decade)}" y1="${top - 8}" x2="${x(decade)}" y2="${top + results.length * rowHeight}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(decade)}" y="${top + results.length * rowHeight + 16}" text-anchor="middle" fill="#555">${decade}</text>`);
  }
  results.forEach((r, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${left - 10}" y="${y + 17}" text-anchor="end">${escape(r.algorithm)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${x(r.p99Ms) - left}" height="18" fill="#a0cbe8"/>`);
    parts.push(`<rect x="${left}" y="${y + 8}" width="${x(r.p50Ms) - left}" height="10" fill="#1f4e79"/>`);
    parts.push(`<text x="${x(r.p99Ms) + 4}" y="${y + 17}" fill="#333">${r.p99Ms.toFixed(0)}</text>`);
  });

  // Right panel: stacked share of requests per server.
  const right = left + panelWidth + gap;
  parts.push(`<text x="${right + panelWidth / 2}" y="${top - 22}" text-anchor="middle" font-weight="bold">share of requests per server</text>`);
  results.forEach((r, i) => {
    const y = top + i * rowHeight;
    let at = right;
    r.share.forEach((share, s) => {
      const w = share * panelWidth;
      parts.push(`<rect x="${at}" y="${y + 4}" width="${w}" height="18" fill="${COLORS[s % COLORS.length]}"/>`);
      at += w;
    });
  });
  const legendY = top + results.length * rowHeight + 40;
  serverNames.forEach((name, s) => {
    const lx = right + s * 95 - 130;
    parts.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[s % COLORS.length]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${legendY}">${escape(name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
