// Text forms of a scorecard's mapping points, for the editor: "0:0, 50:60, 85:100".
import type { MapPoint } from "./backend";

export function formatPoints(points: MapPoint[]): string {
  return points.map((p) => `${p.raw}:${p.score}`).join(", ");
}

/** Parses "raw:score, raw:score"; returns the points or a message naming the bad part. */
export function parsePoints(text: string): MapPoint[] | string {
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length < 2) return "give at least two raw:score points";
  const points: MapPoint[] = [];
  for (const part of parts) {
    const m = /^(-?\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)$/.exec(part);
    if (!m) return `“${part}” is not raw:score`;
    const point = { raw: Number(m[1]), score: Number(m[2]) };
    if (point.score > 100) return `score ${point.score} in “${part}” is above 100`;
    if (points.length && point.raw <= points[points.length - 1].raw) return `raw values must increase (“${part}”)`;
    points.push(point);
  }
  return points;
}
