// A live line chart of one figure over time (uPlot: small and fast with thousands of points).
import uPlot from 'uplot';
import { h } from './dom.js';

/** Points kept per chart: 30 minutes of 2-second samples. */
const maxPoints = 900;

export class LiveChart {
  readonly el: HTMLElement;
  private readonly plot: uPlot;
  private readonly xs: number[] = [];
  private readonly ys: number[] = [];

  constructor(title: string, unit: string, color: string, name: string) {
    this.el = h('div', { class: 'chart', 'data-chart': name, 'data-points': '0' });
    const body = h('div');
    this.el.append(h('h3', {}, title), body);
    this.plot = new uPlot(
      {
        width: 420,
        height: 180,
        legend: { show: false },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max * 1.1, min + 1)] } },
        series: [{}, { label: title, stroke: color, fill: `${color}22`, width: 2 }],
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(1)} ${unit}`), size: 70 }],
      },
      [[], []],
      body,
    );
  }

  /** Adds points (unix seconds, value) and redraws. */
  add(points: Array<[number, number]>): void {
    for (const [x, y] of points) {
      this.xs.push(x);
      this.ys.push(y);
    }
    if (this.xs.length > maxPoints) {
      this.xs.splice(0, this.xs.length - maxPoints);
      this.ys.splice(0, this.ys.length - maxPoints);
    }
    this.plot.setData([this.xs, this.ys]);
    this.el.dataset.points = String(this.xs.length);
  }
}
