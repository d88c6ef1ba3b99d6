/**
 * The benchmark's throughput ratios: taken within a round, so a machine that slows down between
 * rounds does not show up as one target being slower than another.
 */
import { describe, expect, it } from 'vitest';
import { pairedRps, type Summary } from '../report.ts';

const summary = (target: Summary['target'], rpsByRun: number[]): Summary =>
  ({ queryId: 'q1', target, runs: rpsByRun.length, rps: { median: [...rpsByRun].sort((a, b) => a - b)[rpsByRun.length >> 1]!, min: Math.min(...rpsByRun), max: Math.max(...rpsByRun) }, rpsByRun }) as unknown as Summary;

describe('paired throughput ratios', () => {
  it('cancels a drift of the machine between rounds that a ratio of medians mixes in', () => {
    // The machine runs at 1.0, 0.6 and 1.4 of its speed in three rounds; A is always 0.9 of B.
    const speed = [1, 0.6, 1.4];
    const b = summary('B', speed.map((k) => 400 * k));
    const a = summary('R', speed.map((k) => 360 * k));
    expect(pairedRps(a, b)).toBeCloseTo(0.9, 10);
    // Rotate A's runs by one round (A measured in other rounds than B): the medians still say 0.9,
    // pairing sees the rounds no longer line up. The method is the pairing, not the medians.
    const shifted = summary('R', [speed[2]!, speed[0]!, speed[1]!].map((k) => 360 * k));
    expect(shifted.rps.median / b.rps.median).toBeCloseTo(0.9, 10);
    expect(pairedRps(shifted, b)).not.toBeCloseTo(0.9, 2);
  });

  it('takes the median of the rounds, so one disturbed round does not move it', () => {
    const b = summary('B', [400, 400, 400, 400, 400]);
    const a = summary('R', [380, 380, 100, 380, 380]);
    expect(pairedRps(a, b)).toBeCloseTo(0.95, 10);
  });

  it('falls back to the ratio of the medians for reports without runs in order', () => {
    const b = { ...summary('B', [400]), rpsByRun: undefined } as unknown as Summary;
    const a = { ...summary('R', [300]), rpsByRun: undefined } as unknown as Summary;
    expect(pairedRps(a, b)).toBeCloseTo(0.75, 10);
  });
});
