import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineChartSvg } from '../../bench/lib/svg.ts';

test('the chart is one SVG document with a path per series, a legend and escaped labels', () => {
  const svg = lineChartSvg({
    title: 'latency <vs> rate',
    xLabel: 'events/s',
    yLabel: 'ms',
    series: [
      { name: 'p99', color: '#f00', points: [{ x: 20, y: 40 }, { x: 100, y: 90 }, { x: 200, y: Number.NaN }] },
      { name: 'p50', color: '#00f', dashed: true, points: [{ x: 20, y: 10 }, { x: 100, y: 30 }] },
    ],
    thresholds: [{ y: 200, label: '200 ms', color: '#c00' }],
  });
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(svg.match(/<path /g)?.length, 2);
  assert.match(svg, /latency &lt;vs&gt; rate/);
  assert.match(svg, /stroke-dasharray="7 5"/);
  assert.match(svg, />200 ms</);
  assert.doesNotMatch(svg, /NaN/);
});
