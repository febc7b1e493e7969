// Test helpers: a fake Backend and a context to render screens against it.
import type { ReactNode } from "react";
import { vi } from "vitest";
import type { Backend, User } from "./backend";
import { AppContext } from "./context";

export function user(partial: Partial<User> & Pick<User, "name" | "role">): User {
  return {
    id: `0190f3c4-0000-7000-8000-${Math.random().toString(16).slice(2, 14).padEnd(12, "0")}`,
    email: `${partial.name.toLowerCase().replace(/\s/g, ".")}@riskdesk.example`,
    title: "Customer Success Manager",
    team_id: null,
    created_at: "2026-01-01T00:00:00Z",
    ...partial,
  };
}

export function fakeBackend(overrides: Partial<Backend> = {}): Backend {
  return {
    appInfo: vi.fn(async () => ({ version: "0.1.0", database_path: "/tmp/riskdesk.db", accounts: 0, log_dir: "/tmp/logs" })),
    storeSize: vi.fn(async () => ({ bytes: 52_428_800, free_bytes: 0 })),
    compactStore: vi.fn(async () => ({
      before: { bytes: 52_428_800, free_bytes: 0 },
      after: { bytes: 52_428_800, free_bytes: 0 },
      millis: 10,
    })),
    showLogs: vi.fn(async () => "/tmp/logs"),
    checkForUpdate: vi.fn(async () => ({ current: "0.1.0", server: null, available: null })),
    installUpdate: vi.fn(async () => {}),
    notifySettings: vi.fn(async () => ({ escalations: true, assigned: true, due_today: true })),
    saveNotifySettings: vi.fn(async (s) => s),
    startupStatus: vi.fn(async () => ({ kind: "ready" as const })),
    startDemo: vi.fn(async () => null),
    startEmpty: vi.fn(async () => {
      throw new Error("not faked");
    }),
    listUsers: vi.fn(async () => []),
    listTeams: vi.fn(async () => []),
    currentUser: vi.fn(async () => null),
    setCurrentUser: vi.fn(async () => {
      throw new Error("not faked");
    }),
    queryAccounts: vi.fn(async () => ({ total: 0, offset: 0, rows: [] })),
    accountDetail: vi.fn(async () => {
      throw new Error("not faked");
    }),
    currencies: vi.fn(async () => []),
    accountHealth: vi.fn(async () => ({ current: null, computed_at: null, changes: [], previous_day: null, trend: { days_7: null, days_30: null, days_90: null }, history: [], signals: [], severity: null, overrides: [] })),
    recomputeAccount: vi.fn(async () => {
      throw new Error("not faked");
    }),
    recomputeAll: vi.fn(async () => ({ accounts: 0, scored: 0, signals_raised: 0, signals_cleared: 0, stages_moved: 0, duration_ms: 0, unchanged: 0 })),
    lastRecomputeDay: vi.fn(async () => null),
    overrideMeasure: vi.fn(async () => {
      throw new Error("not faked");
    }),
    removeOverride: vi.fn(async () => {
      throw new Error("not faked");
    }),
    measureKinds: vi.fn(async () => []),
    listScorecards: vi.fn(async () => []),
    saveScorecard: vi.fn(async () => {
      throw new Error("not faked");
    }),
    signalThresholds: vi.fn(async () => {
      throw new Error("not faked");
    }),
    saveSignalThresholds: vi.fn(async (t) => t),
    stageCriteria: vi.fn(async () => {
      throw new Error("not faked");
    }),
    saveStageCriteria: vi.fn(async (c) => c),
    historyRetention: vi.fn(async () => ({ daily_days: 90, weekly_days: 730 })),
    saveHistoryRetention: vi.fn(async (r) => r),
    severityConfig: vi.fn(async () => {
      throw new Error("not faked");
    }),
    saveSeverityConfig: vi.fn(async (c) => c),
    accountCtas: vi.fn(async () => []),
    closeCta: vi.fn(async () => null),
    snoozeCta: vi.fn(async () => null),
    addRiskUpdate: vi.fn(async () => null),
    flagCta: vi.fn(async () => null),
    cockpitCtas: vi.fn(async () => []),
    ctaDetail: vi.fn(async () => {
      throw new Error("not faked");
    }),
    createCta: vi.fn(async () => {
      throw new Error("not faked");
    }),
    editCta: vi.fn(async () => {
      throw new Error("not faked");
    }),
    addCtaTask: vi.fn(async () => null),
    setTaskDone: vi.fn(async () => null),
    logActivity: vi.fn(async () => null),
    accountTimeline: vi.fn(async () => []),
    listRules: vi.fn(async () => []),
    saveRule: vi.fn(async () => {
      throw new Error("not faked");
    }),
    setRuleEnabled: vi.fn(async () => null),
    previewRule: vi.fn(async () => {
      throw new Error("not faked");
    }),
    runRules: vi.fn(async () => {
      throw new Error("not faked");
    }),
    ruleRunLog: vi.fn(async () => []),
    ruleSchedule: vi.fn(async () => ({ every_hours: 6 })),
    saveRuleSchedule: vi.fn(async (s) => s),
    listPlaybooks: vi.fn(async () => []),
    savePlaybook: vi.fn(async (_id, p) => p),
    worklistPage: vi.fn(async () => ({ total: 0, offset: 0, rows: [] })),
    whyHere: vi.fn(async () => {
      throw new Error("not faked");
    }),
    renewalTriage: vi.fn(async () => {
      throw new Error("not faked");
    }),
    saveTriageSettings: vi.fn(async (s) => s),
    exportRules: vi.fn(async () => 0),
    importRules: vi.fn(async () => ({ added: [], changed: [], removed: [], unchanged: 0, applied: false })),
    pickRulesFile: vi.fn(async () => null),
    pickRulesSavePath: vi.fn(async () => null),
    riskHuddle: vi.fn(async () => []),
    exportHuddle: vi.fn(async () => ({ path: "/tmp/huddle.md", markdown: "" })),
    techTouchLane: vi.fn(async () => {
      throw new Error("not faked");
    }),
    priorityConfig: vi.fn(async () => {
      throw new Error("not faked");
    }),
    savePriorityConfig: vi.fn(async (c) => c),
    riskCategories: vi.fn(async () => []),
    saveRiskCategory: vi.fn(async () => {
      throw new Error("not faked");
    }),
    removeRiskCategory: vi.fn(async () => null),
    escalationCriteria: vi.fn(async () => {
      throw new Error("not faked");
    }),
    saveEscalationCriteria: vi.fn(async (c) => c),
    escalateAccount: vi.fn(async () => "0190f3c4-0000-7000-8000-00000000e5c1"),
    deEscalate: vi.fn(async () => null),
    closeEscalation: vi.fn(async () => null),
    wbr: vi.fn(async () => []),
    addEscalationAction: vi.fn(async () => null),
    setEscalationActionDone: vi.fn(async () => null),
    addEscalationDecision: vi.fn(async () => null),
    reportPreview: vi.fn(async () => {
      throw new Error("not faked");
    }),
    exportReport: vi.fn(async () => []),
    analyzeImport: vi.fn(async () => {
      throw new Error("not faked");
    }),
    runImport: vi.fn(async () => {
      throw new Error("not faked");
    }),
    importHistory: vi.fn(async () => []),
    exportList: vi.fn(async (_view, _format, path) => ({ path, rows: 0 })),
    pickCsvFile: vi.fn(async () => null),
    pickSavePath: vi.fn(async (name) => `/tmp/${name}`),
    syncStatus: vi.fn(async () => ({ connected: false, server_url: null, email: null, device_id: "dev-1", last_synced_at: null, last_error: null, pending: 0, unseen_conflicts: 0, set_aside: 0, interval_seconds: 60, holds_demo: false })),
    syncConnect: vi.fn(async () => ({ pushed: 0, pulled: 0, applied: 0, conflicts: 0, pending: 0, set_aside: 0 })),
    syncNow: vi.fn(async () => ({ pushed: 0, pulled: 0, applied: 0, conflicts: 0, pending: 0, set_aside: 0 })),
    syncDisconnect: vi.fn(async () => ({ connected: false, server_url: null, email: null, device_id: "dev-1", last_synced_at: null, last_error: null, pending: 0, unseen_conflicts: 0, set_aside: 0, interval_seconds: 60, holds_demo: false })),
    syncAcceptInvite: vi.fn(async () => ({ pushed: 0, pulled: 0, applied: 0, conflicts: 0, pending: 0, set_aside: 0 })),
    syncSetInterval: vi.fn(async (seconds) => ({ connected: true, server_url: "https://sync.acme.example", email: "ana@acme.example", device_id: "dev-1", last_synced_at: null, last_error: null, pending: 0, unseen_conflicts: 0, set_aside: 0, interval_seconds: seconds, holds_demo: false })),
    syncConflicts: vi.fn(async () => []),
    syncSetAside: vi.fn(async () => []),
    peopleList: vi.fn(async () => []),
    assignAccounts: vi.fn(async () => 0),
    peopleAdd: vi.fn(async () => {
      throw new Error("not faked");
    }),
    peopleImport: vi.fn(async () => {
      throw new Error("not faked");
    }),
    peopleSetActive: vi.fn(async () => {
      throw new Error("not faked");
    }),
    dashboard: vi.fn(async () => {
      throw new Error("not faked");
    }),
    escalationRefinement: vi.fn(async () => {
      throw new Error("not faked");
    }),
    logNpsResponse: vi.fn(async () => {
      throw new Error("not faked");
    }),
    ...overrides,
  };
}

export function WithApp({
  backend,
  children,
  reportError = vi.fn(),
  me = null,
}: {
  backend: Backend;
  children: ReactNode;
  reportError?: (e: unknown) => void;
  me?: User | null;
}) {
  return <AppContext.Provider value={{ backend, user: me, currencies: new Map(), teams: new Map(), reportError }}>{children}</AppContext.Provider>;
}
