import { describe, expect, it } from "vitest";
import { formatPoints, parsePoints } from "./scorecardForm";

describe("mapping points", () => {
  it("round-trips", () => {
    const points = [
      { raw: -50, score: 0 },
      { raw: 0, score: 80 },
      { raw: 10.5, score: 100 },
    ];
    expect(parsePoints(formatPoints(points))).toEqual(points);
  });
  it("names the part at fault", () => {
    expect(parsePoints("0:0")).toMatch(/at least two/);
    expect(parsePoints("0:0, x:5")).toMatch(/“x:5” is not raw:score/);
    expect(parsePoints("0:0, 50:150")).toMatch(/above 100/);
    expect(parsePoints("10:0, 5:100")).toMatch(/must increase/);
  });
});
