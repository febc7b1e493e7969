import { describe, expect, it } from "vitest";
import { bySeverity, daysUntil, formatBytes, formatMoney, npsCategory, parseDate, relativeDays } from "./format";

describe("formatMoney", () => {
  it("turns minor units into major units per currency", () => {
    expect(formatMoney(123_456_789, "USD")).toBe("$1,234,568");
    expect(formatMoney(250_000_00, "EUR")).toBe("€250,000");
    expect(formatMoney(1_500_000, "JPY", 0)).toBe("¥1,500,000");
    expect(formatMoney(1_250_000_00, "USD", 2, true)).toBe("$1.3M");
  });
  it("falls back to the code for an unknown currency", () => {
    expect(formatMoney(100, "ZZZ")).toMatch(/ZZZ/);
  });
});

describe("dates", () => {
  it("parses calendar dates as UTC", () => {
    expect(parseDate("2026-11-23").toISOString()).toBe("2026-11-23T00:00:00.000Z");
  });
  it("counts whole days to a date", () => {
    const today = new Date(Date.UTC(2026, 10, 23, 22, 0));
    expect(daysUntil("2026-11-23", today)).toBe(0);
    expect(daysUntil("2027-02-21", today)).toBe(90);
    expect(daysUntil("2026-11-20", today)).toBe(-3);
    expect(relativeDays(90)).toBe("in 90 days");
    expect(relativeDays(-3)).toBe("3 days ago");
  });
});

describe("npsCategory", () => {
  it("uses the standard bands", () => {
    expect([0, 6, 7, 8, 9, 10].map(npsCategory)).toEqual(["detractor", "detractor", "passive", "passive", "promoter", "promoter"]);
  });
});

describe("formatBytes", () => {
  it("shows a size in the unit a file manager would", () => {
    expect(formatBytes(1_290_000_000)).toBe("1.29 GB");
    expect(formatBytes(27_000_000_000)).toBe("27 GB");
    expect(formatBytes(368_400_000)).toBe("368 MB");
    expect(formatBytes(12_400)).toBe("12 KB");
    expect(formatBytes(10)).toBe("1 KB");
  });
});

describe("bySeverity", () => {
  it("orders at-risk slices High, Medium, Low, then the unscored, whatever their ARR", () => {
    const slice = (key: string | null, arr: number) => ({ key, label: key ?? "not categorized", accounts: 1, arr_base_minor: arr });
    const ordered = bySeverity([slice("medium", 900), slice(null, 950), slice("low", 500), slice("high", 100)]);
    expect(ordered.map((s) => s.label)).toEqual(["High", "Medium", "Low", "Not scored"]);
    expect(ordered.map((s) => s.key)).toEqual(["high", "medium", "low", null]);
    expect(ordered.map((s) => s.arr_base_minor)).toEqual([100, 900, 500, 950]);
  });
});
