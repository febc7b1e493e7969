// Display formatting. Money arrives as integer minor units plus a currency code and is
// only turned into a decimal here, for display.
import type { Level, Segment, Stage, Role } from "./backend";

const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string, compact: boolean): Intl.NumberFormat {
  const key = `${currency}:${compact}`;
  let f = moneyFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat("en-US", {
      style: "currency",
      currency,
      notation: compact ? "compact" : "standard",
      maximumFractionDigits: compact ? 1 : 0,
    });
    moneyFormats.set(key, f);
  }
  return f;
}

/** "$1,234,568" from 123456789 cents; `digits` is the currency's minor digits (2, or 0 for JPY). */
export function formatMoney(minor: number, currency: string, digits = 2, compact = false): string {
  const major = minor / 10 ** digits;
  try {
    return moneyFormat(currency, compact).format(major);
  } catch {
    return `${major.toLocaleString("en-US")} ${currency}`;
  }
}

const dateFormat = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat("en-US", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

/** Parses 'YYYY-MM-DD' as a UTC calendar date. */
export function parseDate(iso: string): Date {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

export function formatDate(iso: string): string {
  return dateFormat.format(parseDate(iso));
}

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${dateTimeFormat.format(d)} UTC`;
}

/** Whole days from `today` to the date `iso` (negative when past). */
export function daysUntil(iso: string, today: Date = new Date()): number {
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.round((parseDate(iso).getTime() - start) / 86_400_000);
}

export function relativeDays(days: number): string {
  if (days === 0) return "today";
  if (days === 1) return "tomorrow";
  if (days === -1) return "yesterday";
  return days > 0 ? `in ${days} days` : `${-days} days ago`;
}

export const segmentLabel: Record<Segment, string> = {
  strategic: "Strategic",
  enterprise: "Enterprise",
  mid_market: "Mid-market",
  tech_touch: "Tech-touch",
};

export const levelLabel: Record<Level, string> = {
  high: "High",
  medium: "Medium",
  low: "Low",
};

/** At-risk slices by severity as a reader scans them: High first, then Medium and Low,
 * then accounts at risk (a live risk CTA) that have no severity yet. */
export function bySeverity<T extends { key: string | null; label: string }>(slices: T[]): T[] {
  const rank: Record<string, number> = { high: 0, medium: 1, low: 2 };
  const order = (key: string | null) => (key === null ? 3 : (rank[key] ?? 3));
  return slices
    .map((s) => ({ ...s, label: s.key === null ? "Not scored" : (levelLabel[s.key as Level] ?? s.key) }))
    .sort((a, b) => order(a.key) - order(b.key));
}

export const stageLabel: Record<Stage, string> = {
  onboarding: "Onboarding",
  adopting: "Adopted",
  mature: "Mature",
  renewal: "Renewal",
};

export const roleLabel: Record<Role, string> = {
  csm: "CSM",
  manager: "Manager",
  executive: "Executive",
  admin: "Admin",
};

export function npsCategory(score: number): "detractor" | "passive" | "promoter" {
  return score <= 6 ? "detractor" : score <= 8 ? "passive" : "promoter";
}

/** Today's UTC calendar date as 'YYYY-MM-DD', the form date inputs and the store use. */
/** "1.3 GB", "512 MB", "12 KB": a file's size in decimal units, as file managers show it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(bytes >= 1e10 ? 0 : 2)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}

export function todayIso(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}
