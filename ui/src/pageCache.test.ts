import { describe, expect, it, vi } from "vitest";
import { PageCache } from "./pageCache";

function source(total: number) {
  const calls: Array<[number, number]> = [];
  const fetch = vi.fn(async (offset: number, limit: number) => {
    calls.push([offset, limit]);
    const rows = Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => offset + i);
    return { total, rows };
  });
  return { fetch, calls };
}

describe("PageCache", () => {
  it("fetches the blocks covering a range, once each", async () => {
    const { fetch, calls } = source(1000);
    const cache = new PageCache(fetch, 100);
    await Promise.all([cache.ensure(150, 320), cache.ensure(150, 320)]);
    expect(calls).toEqual([
      [100, 100],
      [200, 100],
      [300, 100],
    ]);
    expect(cache.total).toBe(1000);
    expect(cache.get(150)).toBe(150);
    expect(cache.get(99)).toBeUndefined();
    await cache.ensure(100, 300);
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it("does not fetch past the end once the total is known", async () => {
    const { calls, fetch } = source(250);
    const cache = new PageCache(fetch, 100);
    await cache.ensure(0, 10);
    await cache.ensure(200, 1000);
    expect(calls.map(([o]) => o)).toEqual([0, 200]);
    expect(cache.get(249)).toBe(249);
  });

  it("keeps at most maxBlocks blocks, dropping the least recently used", async () => {
    const { fetch } = source(10_000);
    const cache = new PageCache(fetch, 10, 3);
    await cache.ensure(0, 10);
    await cache.ensure(10, 20);
    cache.get(0); // block 0 is now more recent than block 1
    await cache.ensure(20, 30);
    await cache.ensure(30, 40);
    expect(cache.get(5)).toBe(5);
    expect(cache.get(15)).toBeUndefined();
    expect(cache.get(35)).toBe(35);
  });

  it("ignores answers that arrive after dispose and notifies subscribers otherwise", async () => {
    let release: () => void = () => {};
    const fetch = vi.fn(
      (offset: number) => new Promise<{ total: number; rows: number[] }>((resolve) => (release = () => resolve({ total: 5, rows: [offset] }))),
    );
    const cache = new PageCache(fetch, 10);
    const listener = vi.fn();
    cache.subscribe(listener);
    const pending = cache.ensure(0, 1);
    cache.dispose();
    release();
    await pending;
    expect(cache.get(0)).toBeUndefined();
    expect(listener).not.toHaveBeenCalled();

    const live = new PageCache(source(5).fetch, 10);
    const heard = vi.fn();
    live.subscribe(heard);
    await live.ensure(0, 5);
    expect(heard).toHaveBeenCalledTimes(1);
  });

  it("keeps the error of a failed block and retries it next time", async () => {
    let fail = true;
    const fetch = vi.fn(async (offset: number) => {
      if (fail) throw new Error("boom");
      return { total: 1, rows: [offset] };
    });
    const cache = new PageCache(fetch, 10);
    await cache.ensure(0, 1);
    expect(cache.error).toBeInstanceOf(Error);
    fail = false;
    await cache.ensure(0, 1);
    expect(cache.error).toBeNull();
    expect(cache.get(0)).toBe(0);
  });
});
