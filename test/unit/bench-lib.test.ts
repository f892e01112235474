import { parseFigures } from '../../bench/lib/external';
import { BenchUsageError, intFlag, intListFlag, selection } from '../../bench/lib/flags';
import { steadyRate } from '../../bench/lib/kafka';
import { ReportBuilder } from '../../bench/lib/results';
import { distribution, median, percentile, summarize } from '../../bench/lib/stats';

describe('bench statistics', () => {
  it('takes nearest-rank percentiles and the median of odd and even counts', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });

  it('summarises runs as median, min and max, leaving out runs that could not measure', () => {
    expect(summarize([10, NaN, 30, 20])).toEqual({ median: 20, min: 10, max: 30, values: [10, NaN, 30, 20] });
    expect(summarize([NaN]).median).toBeNaN();
    expect(distribution(Float64Array.from([5, 1, 9]))).toEqual({ p50: 5, p99: 9, max: 9, count: 3 });
  });

  it('reports every declared figure per run and refuses undeclared ones', () => {
    const builder = new ReportBuilder('x', 'x', [{ key: 'rate', label: 'rate', unit: 'rec/s' }]);
    builder.addRun({ rate: 1 });
    builder.addRun({ rate: 3 });
    builder.addRun({ rate: 2 });
    expect(builder.build().figures[0]).toMatchObject({ median: 2, min: 1, max: 3, values: [1, 3, 2] });
    expect(() => builder.addRun({ other: 1 })).toThrow(/undeclared figure "other"/);
  });
});

describe('steady rate', () => {
  it('counts from the first sample holding a tenth of the records, leaving out start-up', () => {
    const samples = [
      { t: 0, n: 0 },
      { t: 5000, n: 0 }, // group join
      { t: 6000, n: 1000 },
      { t: 7000, n: 5000 },
      { t: 8000, n: 9000 },
    ];
    expect(steadyRate({ samples, done: 8000 })).toBeCloseTo(4000);
  });

  it('falls back to the span since the last empty sample when the run is too fast to window', () => {
    const samples = [
      { t: 0, n: 0 },
      { t: 100, n: 0 },
      { t: 200, n: 10_000 },
    ];
    expect(steadyRate({ samples, done: 200 })).toBe(100_000);
  });
});

describe('figures of other bench scripts', () => {
  it('keys a figure by its label without the numbers in it, so runs line up', () => {
    const one = parseFigures('written after 0.47 s; applied from then on: 4,125 mutations/s');
    const two = parseFigures('written after 0.42 s; applied from then on: 7,485 mutations/s');
    expect([...one.keys()]).toEqual([...two.keys()]);
  });

  it('reads "<label>: … N records/s" lines, column-aligned lines and JSON lines', () => {
    const figures = parseFigures(
      [
        'wal engine bench on 127.0.0.1:9092 (2 cores), run x',
        'restore: 5000 changelog records (100 B values) in 0.54 s = 9276 records/s',
        'engine passthrough (at-least-once): 10000 records in 1.53 s from start; steady state 27356 records/s',
        'raw kafkajs consume→produce: 10000 records in 1.12 s from start; steady state Infinity records/s',
        'MirrorRunner exactly-once               2.5 s     4000 records/s',
        'plain batched upsert loop (1 connection, 100 rows/statement): 16,026 mutations/s (10000 in 0.62 s)',
        '{"figures":{"lag":{"label":"mirror lag","unit":"ms","value":12}}}',
      ].join('\n'),
    );
    const byLabel = Object.fromEntries([...figures.values()].map((f) => [f.spec.label, [f.value, f.spec.unit]]));
    expect(byLabel).toEqual({
      restore: [9276, 'records/s'],
      'engine passthrough (at-least-once)': [27356, 'records/s'],
      'MirrorRunner exactly-once': [4000, 'records/s'],
      'plain batched upsert loop (1 connection, 100 rows/statement)': [16026, 'mutations/s'],
      'mirror lag': [12, 'ms'],
    });
  });
});

describe('bench flags', () => {
  it('accepts counts with k/M suffixes and names the flag when a value is wrong', () => {
    expect(intFlag({ records: '100k' }, 'records', 1)).toBe(100_000);
    expect(intListFlag({ timers: '100k,1M' }, 'timers', [])).toEqual([100_000, 1_000_000]);
    expect(intFlag({}, 'records', 7)).toBe(7);
    expect(() => intFlag({ records: 'lots' }, 'records', 1)).toThrow(BenchUsageError);
    expect(() => intFlag({ records: 'lots' }, 'records', 1)).toThrow(/--records "lots"/);
    expect(() => selection({ only: 'delay,nope' }, ['delay', 'http'])).toThrow(/unknown nope; choose from delay, http/);
    expect([...selection({}, ['delay', 'http'])]).toEqual(['delay', 'http']);
  });
});
