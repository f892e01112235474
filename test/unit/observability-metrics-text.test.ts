import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricsFormatError, parsePrometheusText, sumSamples } from '../../src/ops/metrics-text';

describe('reading Prometheus text back', () => {
  it('round-trips what prom-client writes: labels with escapes, histograms, NaN', async () => {
    const registry = new Registry();
    const c = new Counter({ name: 'c_total', help: 'h', labelNames: ['namespace', 'topic'], registers: [registry] });
    c.labels('ns', 'a "quoted" \\ topic\nx').inc(2);
    c.labels('other', 't').inc(5);
    const h = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['namespace'], buckets: [0.1, 1], registers: [registry] });
    h.labels('ns').observe(0.5);
    new Gauge({ name: 'g', help: 'h', registers: [registry] }).set(NaN);
    const samples = parsePrometheusText(await registry.metrics());
    expect(samples).toContainEqual({ name: 'c_total', labels: { namespace: 'ns', topic: 'a "quoted" \\ topic\nx' }, value: 2 });
    expect(sumSamples(samples, 'c_total')).toBe(7);
    expect(sumSamples(samples, 'c_total', { namespace: 'other' })).toBe(5);
    expect(sumSamples(samples, 'h_seconds_count', { namespace: 'ns' })).toBe(1);
    expect(samples).toContainEqual({ name: 'h_seconds_bucket', labels: { le: '+Inf', namespace: 'ns' }, value: 1 });
    expect(samples.find((s) => s.name === 'g')?.value).toBeNaN();
  });

  it('accepts timestamps and infinities, and names the line it cannot read', () => {
    expect(parsePrometheusText('# HELP x y\nx 1 1700000000000\ny +Inf\n\nz{a="1",} -Inf')).toEqual([
      { name: 'x', labels: {}, value: 1 },
      { name: 'y', labels: {}, value: Infinity },
      { name: 'z', labels: { a: '1' }, value: -Infinity },
    ]);
    expect(() => parsePrometheusText('ok 1\nbad{a="1"} one')).toThrow(new MetricsFormatError('line 2: "one" is not a sample value in "bad{a="1"} one"'));
    expect(() => parsePrometheusText('bad{a="1}')).toThrow(MetricsFormatError);
    expect(() => parsePrometheusText('novalue')).toThrow(MetricsFormatError);
  });
});
