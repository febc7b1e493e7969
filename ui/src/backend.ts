// The one seam between the UI and the Rust side: only this file imports the generated
// bindings. Screens receive a `Backend` through context, so tests can pass a fake.
import { Channel } from "@tauri-apps/api/core";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";
import { commands } from "./bindings";
import type {
  ConflictView,
  SetAside,
  NewPerson,
  PeopleReport,
  Person,
  Progress as SyncProgress,
  SyncReport,
  SyncStatus,
  Analysis,
  ExportFormat,
  ExportResult,
  ExportView,
  ImportKind,
  ImportLogEntry,
  ImportProgress,
  ImportReport,
  ImportRequest,
  AccountDetail,
  AccountHealth,
  AccountPage,
  AccountQuery,
  AppError,
  CtaDetail,
  CtaScope,
  Dashboard,
  ReportKind,
  ReportPreview,
  EscalationCriteria,
  EscalationOutcome,
  Refinement,
  WbrItem,
  HuddleCsm,
  HuddleExport,
  LaneSummary,
  PriorityConfig,
  RiskCategory,
  Triage,
  TriageSettings,
  WhyHere,
  WorklistPage,
  WorklistQuery,
  CockpitQuery,
  CockpitRow,
  CtaEdit,
  ManualCta,
  Playbook,
  Rule,
  RuleDefinition,
  RuleSchedule,
  RunLogEntry,
  RunReport,
  ImportPlan,
  TimelineItem,
  TimelineKind,
  AppInfo,
  Compaction,
  StoreSize,
  UpdateCheck,
  NotifySettings,
  Currency,
  MeasureInfo,
  MeasureKind,
  RecomputeProgress,
  RecomputeSummary,
  Scorecard,
  ScorecardDefinition,
  SeverityConfig,
  SignalThresholds,
  StageCriteria,
  HistoryRetention,
  Startup,
  Team,
  User,
} from "./bindings";

export type { Progress as SyncProgress } from "./bindings";
export type {
  ConflictView,
  SetAside,
  NewPerson,
  PeopleReport,
  Person,
  SyncReport,
  SyncStatus,
  Analysis,
  ExportFormat,
  ExportResult,
  ExportView,
  FieldInfo,
  FieldMapping,
  ImportKind,
  ImportLogEntry,
  ImportMode,
  ImportProgress,
  ImportReport,
  ImportRequest,
  OwnerMapping,
  UnknownOwner,
  RowError,
  Account,
  ReportKind,
  ReportPreview,
  Attrition,
  Dashboard,
  Funnel,
  RiskPoint,
  Slice,
  AgreedAction,
  Decision,
  EscalationCriteria,
  EscalationOutcome,
  OutcomeMix,
  OutcomeSummary,
  Refinement,
  WbrItem,
  WhatIf,
  GroupSummary,
  HuddleAccount,
  HuddleCsm,
  HuddleExport,
  LaneSummary,
  PriorityConfig,
  PriorityExplanation,
  PriorityFactor,
  RiskCategory,
  Triage,
  TriageGroup,
  TriageItem,
  TriageSettings,
  UrgencyBand,
  WhyHere,
  WorklistPage,
  WorklistQuery,
  WorklistRow,
  Action,
  CockpitQuery,
  CockpitRow,
  Compare,
  Condition,
  CtaEdit,
  CtaOwner,
  CtaScope,
  CtaStatus,
  CtaType,
  ExpansionPotential,
  Firing,
  FiringOutcome,
  ManualCta,
  NumberField,
  Playbook,
  PlaybookTask,
  Rule,
  RuleDefinition,
  RuleSchedule,
  RunLogEntry,
  RunReport,
  ImportPlan,
  RuleChange,
  RuleCounts,
  SignalKind,
  TimelineItem,
  TimelineKind,
  AccountDetail,
  AccountHealth,
  Band,
  Cta,
  CtaDetail,
  CtaTask,
  RiskUpdate,
  HealthScore,
  Level,
  Mapping,
  MapPoint,
  MeasureConfig,
  MeasureInfo,
  MeasureKind,
  MeasureResult,
  RecomputeProgress,
  RecomputeSummary,
  Scorecard,
  ScorecardDefinition,
  ScoreSource,
  Severity,
  SeverityConfig,
  Signal,
  SignalThresholds,
  StageCriteria,
  HistoryRetention,
  Startup,
  DemoProgress,
  AccountPage,
  AccountQuery,
  AccountRow,
  AccountSort,
  AppError,
  AppInfo,
  Compaction,
  StoreSize,
  UpdateCheck,
  NotifySettings,
  Contact,
  Currency,
  NpsResponse,
  Role,
  Segment,
  Stage,
  Team,
  Ticket,
  UsageWeek,
  User,
} from "./bindings";

/** A command failed with the typed error the Rust side returned. */
export class BackendError extends Error {
  readonly error: AppError;
  constructor(error: AppError) {
    super(describeError(error));
    this.error = error;
  }
}

export function describeError(e: AppError): string {
  switch (e.kind) {
    case "NotFound":
      return `The ${e.detail.entity} could not be found (${e.detail.id}).`;
    case "Invalid":
      return `Invalid ${e.detail.field}: ${e.detail.reason}.`;
    case "Store":
      return `The local database reported a problem: ${e.detail.message}`;
    case "Update":
      return e.detail.message;
  }
}

export interface Backend {
  appInfo(): Promise<AppInfo>;
  /** The store file's size and what compacting would give back. */
  storeSize(): Promise<StoreSize>;
  /** Returns the store's free pages to the disk. */
  compactStore(): Promise<Compaction>;
  /** Opens the log directory in the file manager; returns it. */
  showLogs(): Promise<string>;
  checkForUpdate(): Promise<UpdateCheck>;
  notifySettings(): Promise<NotifySettings>;
  saveNotifySettings(settings: NotifySettings): Promise<NotifySettings>;
  installUpdate(): Promise<void>;
  startupStatus(): Promise<Startup>;
  startDemo(): Promise<null>;
  startEmpty(name: string, email: string): Promise<User>;
  listUsers(): Promise<User[]>;
  listTeams(): Promise<Team[]>;
  currentUser(): Promise<User | null>;
  setCurrentUser(userId: string): Promise<User>;
  queryAccounts(query: AccountQuery): Promise<AccountPage>;
  accountDetail(accountId: string): Promise<AccountDetail>;
  currencies(): Promise<Currency[]>;
  accountHealth(accountId: string): Promise<AccountHealth>;
  recomputeAccount(accountId: string): Promise<AccountHealth>;
  recomputeAll(onProgress: (p: RecomputeProgress) => void): Promise<RecomputeSummary>;
  lastRecomputeDay(): Promise<string | null>;
  overrideMeasure(accountId: string, measure: MeasureKind, score: number, comment: string, expiresOn: string | null): Promise<AccountHealth>;
  removeOverride(overrideId: string): Promise<AccountHealth>;
  measureKinds(): Promise<MeasureInfo[]>;
  listScorecards(): Promise<Scorecard[]>;
  saveScorecard(id: string | null, name: string, definition: ScorecardDefinition): Promise<Scorecard>;
  signalThresholds(): Promise<SignalThresholds>;
  saveSignalThresholds(thresholds: SignalThresholds): Promise<SignalThresholds>;
  stageCriteria(): Promise<StageCriteria>;
  saveStageCriteria(criteria: StageCriteria): Promise<StageCriteria>;
  historyRetention(): Promise<HistoryRetention>;
  saveHistoryRetention(retention: HistoryRetention): Promise<HistoryRetention>;
  logNpsResponse(accountId: string, contactId: string | null, score: number, comment: string, respondedOn: string): Promise<AccountHealth>;
  severityConfig(): Promise<SeverityConfig>;
  saveSeverityConfig(config: SeverityConfig): Promise<SeverityConfig>;
  accountCtas(accountId: string): Promise<CtaDetail[]>;
  closeCta(ctaId: string, outcome: string): Promise<null>;
  snoozeCta(ctaId: string, until: string, reason: string): Promise<null>;
  addRiskUpdate(ctaId: string, background: string, doneSoFar: string, nextSteps: string): Promise<null>;
  flagCta(ctaId: string, flagged: boolean): Promise<null>;
  cockpitCtas(query: CockpitQuery): Promise<CockpitRow[]>;
  ctaDetail(ctaId: string): Promise<CtaDetail>;
  createCta(cta: ManualCta): Promise<CtaDetail>;
  editCta(ctaId: string, edit: CtaEdit): Promise<CtaDetail>;
  addCtaTask(ctaId: string, title: string, dueOn: string | null): Promise<null>;
  setTaskDone(taskId: string, done: boolean): Promise<null>;
  logActivity(accountId: string, kind: TimelineKind, occurredOn: string, body: string, ctaId: string | null): Promise<null>;
  accountTimeline(accountId: string): Promise<TimelineItem[]>;
  listRules(): Promise<Rule[]>;
  saveRule(ruleId: string | null, name: string, enabled: boolean, definition: RuleDefinition): Promise<Rule>;
  setRuleEnabled(ruleId: string, enabled: boolean): Promise<null>;
  previewRule(name: string, definition: RuleDefinition): Promise<RunReport>;
  runRules(dryRun: boolean): Promise<RunReport>;
  exportRules(path: string): Promise<number>;
  importRules(path: string, apply: boolean): Promise<ImportPlan>;
  /** The native open dialog for a rules file (JSON); null when cancelled. */
  pickRulesFile(): Promise<string | null>;
  /** The native save dialog for a rules file; null when cancelled. */
  pickRulesSavePath(): Promise<string | null>;
  ruleRunLog(): Promise<RunLogEntry[]>;
  ruleSchedule(): Promise<RuleSchedule>;
  saveRuleSchedule(schedule: RuleSchedule): Promise<RuleSchedule>;
  listPlaybooks(): Promise<Playbook[]>;
  savePlaybook(playbookId: string | null, playbook: Playbook): Promise<Playbook>;
  worklistPage(query: WorklistQuery): Promise<WorklistPage>;
  whyHere(accountId: string): Promise<WhyHere>;
  renewalTriage(scope: CtaScope, from: string | null, to: string | null): Promise<Triage>;
  saveTriageSettings(settings: TriageSettings): Promise<TriageSettings>;
  riskHuddle(everyone: boolean): Promise<HuddleCsm[]>;
  exportHuddle(everyone: boolean): Promise<HuddleExport>;
  techTouchLane(): Promise<LaneSummary>;
  priorityConfig(): Promise<PriorityConfig>;
  savePriorityConfig(config: PriorityConfig): Promise<PriorityConfig>;
  riskCategories(): Promise<RiskCategory[]>;
  saveRiskCategory(categoryId: string | null, name: string, ownerId: string | null): Promise<RiskCategory>;
  removeRiskCategory(categoryId: string): Promise<null>;
  escalationCriteria(): Promise<EscalationCriteria>;
  saveEscalationCriteria(criteria: EscalationCriteria): Promise<EscalationCriteria>;
  escalateAccount(accountId: string, reason: string): Promise<string>;
  deEscalate(ctaId: string, reason: string): Promise<null>;
  closeEscalation(ctaId: string, outcome: EscalationOutcome, arrRetainedMinor: number | null): Promise<null>;
  wbr(): Promise<WbrItem[]>;
  addEscalationAction(ctaId: string, kind: string, description: string, ownerId: string | null, dueOn: string | null): Promise<null>;
  setEscalationActionDone(actionId: string, done: boolean): Promise<null>;
  addEscalationDecision(ctaId: string, text: string): Promise<null>;
  escalationRefinement(): Promise<Refinement>;
  dashboard(): Promise<Dashboard>;
  reportPreview(kind: ReportKind, toDate: boolean): Promise<ReportPreview>;
  exportReport(kind: ReportKind, toDate: boolean, folder: string): Promise<string[]>;
  analyzeImport(kind: ImportKind, path: string): Promise<Analysis>;
  runImport(request: ImportRequest, onProgress: (p: ImportProgress) => void): Promise<ImportReport>;
  importHistory(): Promise<ImportLogEntry[]>;
  exportList(view: ExportView, format: ExportFormat, path: string): Promise<ExportResult>;
  /** The native open dialog for a CSV file; null when cancelled. */
  pickCsvFile(): Promise<string | null>;
  /** The native save dialog; null when cancelled. */
  pickSavePath(defaultName: string, format: ExportFormat): Promise<string | null>;
  syncStatus(): Promise<SyncStatus>;
  syncConnect(serverUrl: string, email: string, password: string, shareExisting: boolean, onProgress: (p: SyncProgress) => void): Promise<SyncReport>;
  syncNow(onProgress: (p: SyncProgress) => void): Promise<SyncReport>;
  syncAcceptInvite(serverUrl: string, code: string, password: string, shareExisting: boolean, onProgress: (p: SyncProgress) => void): Promise<SyncReport>;
  syncSetInterval(seconds: number): Promise<SyncStatus>;
  syncDisconnect(): Promise<SyncStatus>;
  syncConflicts(): Promise<ConflictView[]>;
  syncSetAside(): Promise<SetAside[]>;
  peopleList(): Promise<Person[]>;
  /** Gives every account the query matches to `ownerId`; how many moved. */
  assignAccounts(query: AccountQuery, ownerId: string): Promise<number>;
  peopleAdd(person: NewPerson): Promise<Person>;
  peopleImport(path: string, check: boolean): Promise<PeopleReport>;
  peopleSetActive(personId: string, active: boolean): Promise<Person>;
}

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: AppError };

async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  const result = await call;
  if (result.status === "error") throw new BackendError(result.error);
  return result.data;
}

export const tauriBackend: Backend = {
  appInfo: () => unwrap(commands.appInfo()),
  storeSize: () => unwrap(commands.storeSize()),
  compactStore: () => unwrap(commands.compactStore()),
  showLogs: () => unwrap(commands.showLogs()),
  checkForUpdate: () => unwrap(commands.checkForUpdate()),
  notifySettings: () => unwrap(commands.notifySettings()),
  saveNotifySettings: (settings) => unwrap(commands.saveNotifySettings(settings)),
  installUpdate: async () => {
    await unwrap(commands.installUpdate());
  },
  startupStatus: () => unwrap(commands.startupStatus()),
  startDemo: () => unwrap(commands.startDemo()),
  startEmpty: (name, email) => unwrap(commands.startEmpty(name, email)),
  listUsers: () => unwrap(commands.listUsers()),
  listTeams: () => unwrap(commands.listTeams()),
  currentUser: () => unwrap(commands.currentUser()),
  setCurrentUser: (userId) => unwrap(commands.setCurrentUser(userId)),
  queryAccounts: (query) => unwrap(commands.queryAccounts(query)),
  accountDetail: (accountId) => unwrap(commands.accountDetail(accountId)),
  currencies: () => unwrap(commands.currencies()),
  accountHealth: (accountId) => unwrap(commands.accountHealth(accountId)),
  recomputeAccount: (accountId) => unwrap(commands.recomputeAccount(accountId)),
  recomputeAll: (onProgress) => {
    const channel = new Channel<RecomputeProgress>();
    channel.onmessage = onProgress;
    return unwrap(commands.recomputeAll(channel));
  },
  lastRecomputeDay: () => unwrap(commands.lastRecomputeDay()),
  overrideMeasure: (accountId, measure, score, comment, expiresOn) =>
    unwrap(commands.overrideMeasure(accountId, measure, score, comment, expiresOn)),
  removeOverride: (overrideId) => unwrap(commands.removeOverride(overrideId)),
  measureKinds: () => unwrap(commands.measureKinds()),
  listScorecards: () => unwrap(commands.listScorecards()),
  saveScorecard: (id, name, definition) => unwrap(commands.saveScorecard(id, name, definition)),
  signalThresholds: () => unwrap(commands.signalThresholds()),
  saveSignalThresholds: (thresholds) => unwrap(commands.saveSignalThresholds(thresholds)),
  stageCriteria: () => unwrap(commands.stageCriteria()),
  saveStageCriteria: (criteria) => unwrap(commands.saveStageCriteria(criteria)),
  historyRetention: () => unwrap(commands.historyRetention()),
  saveHistoryRetention: (retention) => unwrap(commands.saveHistoryRetention(retention)),
  logNpsResponse: (accountId, contactId, score, comment, respondedOn) =>
    unwrap(commands.logNpsResponse(accountId, contactId, score, comment, respondedOn)),
  severityConfig: () => unwrap(commands.severityConfig()),
  saveSeverityConfig: (config) => unwrap(commands.saveSeverityConfig(config)),
  accountCtas: (accountId) => unwrap(commands.accountCtas(accountId)),
  closeCta: (ctaId, outcome) => unwrap(commands.closeCta(ctaId, outcome)),
  snoozeCta: (ctaId, until, reason) => unwrap(commands.snoozeCta(ctaId, until, reason)),
  addRiskUpdate: (ctaId, background, doneSoFar, nextSteps) => unwrap(commands.addRiskUpdate(ctaId, background, doneSoFar, nextSteps)),
  flagCta: (ctaId, flagged) => unwrap(commands.flagCta(ctaId, flagged)),
  cockpitCtas: (query) => unwrap(commands.cockpitCtas(query)),
  ctaDetail: (ctaId) => unwrap(commands.ctaDetail(ctaId)),
  createCta: (cta) => unwrap(commands.createCta(cta)),
  editCta: (ctaId, edit) => unwrap(commands.editCta(ctaId, edit)),
  addCtaTask: (ctaId, title, dueOn) => unwrap(commands.addCtaTask(ctaId, title, dueOn)),
  setTaskDone: (taskId, done) => unwrap(commands.setTaskDone(taskId, done)),
  logActivity: (accountId, kind, occurredOn, body, ctaId) => unwrap(commands.logActivity(accountId, kind, occurredOn, body, ctaId)),
  accountTimeline: (accountId) => unwrap(commands.accountTimeline(accountId)),
  listRules: () => unwrap(commands.listRules()),
  saveRule: (ruleId, name, enabled, definition) => unwrap(commands.saveRule(ruleId, name, enabled, definition)),
  setRuleEnabled: (ruleId, enabled) => unwrap(commands.setRuleEnabled(ruleId, enabled)),
  previewRule: (name, definition) => unwrap(commands.previewRule(name, definition)),
  runRules: (dryRun) => unwrap(commands.runRules(dryRun)),
  exportRules: (path) => unwrap(commands.exportRules(path)),
  importRules: (path, apply) => unwrap(commands.importRules(path, apply)),
  pickRulesFile: async () => {
    const picked = await openDialog({ multiple: false, directory: false, filters: [{ name: "Rules file", extensions: ["json"] }] });
    return typeof picked === "string" ? picked : null;
  },
  pickRulesSavePath: async () => (await saveDialog({ defaultPath: "riskdesk-rules.json", filters: [{ name: "Rules file", extensions: ["json"] }] })) ?? null,
  ruleRunLog: () => unwrap(commands.ruleRunLog()),
  ruleSchedule: () => unwrap(commands.ruleSchedule()),
  saveRuleSchedule: (schedule) => unwrap(commands.saveRuleSchedule(schedule)),
  listPlaybooks: () => unwrap(commands.listPlaybooks()),
  savePlaybook: (playbookId, playbook) => unwrap(commands.savePlaybook(playbookId, playbook)),
  worklistPage: (query) => unwrap(commands.worklistPage(query)),
  whyHere: (accountId) => unwrap(commands.whyHere(accountId)),
  renewalTriage: (scope, from, to) => unwrap(commands.renewalTriage(scope, from, to)),
  saveTriageSettings: (settings) => unwrap(commands.saveTriageSettings(settings)),
  riskHuddle: (everyone) => unwrap(commands.riskHuddle(everyone)),
  exportHuddle: (everyone) => unwrap(commands.exportHuddle(everyone)),
  techTouchLane: () => unwrap(commands.techTouchLane()),
  priorityConfig: () => unwrap(commands.priorityConfig()),
  savePriorityConfig: (config) => unwrap(commands.savePriorityConfig(config)),
  riskCategories: () => unwrap(commands.riskCategories()),
  saveRiskCategory: (categoryId, name, ownerId) => unwrap(commands.saveRiskCategory(categoryId, name, ownerId)),
  removeRiskCategory: (categoryId) => unwrap(commands.removeRiskCategory(categoryId)),
  escalationCriteria: () => unwrap(commands.escalationCriteria()),
  saveEscalationCriteria: (criteria) => unwrap(commands.saveEscalationCriteria(criteria)),
  escalateAccount: (accountId, reason) => unwrap(commands.escalateAccount(accountId, reason)),
  deEscalate: (ctaId, reason) => unwrap(commands.deEscalate(ctaId, reason)),
  closeEscalation: (ctaId, outcome, arrRetainedMinor) => unwrap(commands.closeEscalation(ctaId, outcome, arrRetainedMinor)),
  wbr: () => unwrap(commands.wbr()),
  addEscalationAction: (ctaId, kind, description, ownerId, dueOn) => unwrap(commands.addEscalationAction(ctaId, kind, description, ownerId, dueOn)),
  setEscalationActionDone: (actionId, done) => unwrap(commands.setEscalationActionDone(actionId, done)),
  addEscalationDecision: (ctaId, text) => unwrap(commands.addEscalationDecision(ctaId, text)),
  escalationRefinement: () => unwrap(commands.escalationRefinement()),
  dashboard: () => unwrap(commands.dashboard()),
  reportPreview: (kind, toDate) => unwrap(commands.reportPreview(kind, toDate)),
  exportReport: (kind, toDate, folder) => unwrap(commands.exportReport(kind, toDate, folder)),
  analyzeImport: (kind, path) => unwrap(commands.analyzeImport(kind, path)),
  runImport: (request, onProgress) => {
    const channel = new Channel<ImportProgress>();
    channel.onmessage = onProgress;
    return unwrap(commands.runImport(request, channel));
  },
  importHistory: () => unwrap(commands.importHistory()),
  exportList: (view, format, path) => unwrap(commands.exportList(view, format, path)),
  pickCsvFile: async () => {
    const picked = await openDialog({
      multiple: false,
      directory: false,
      filters: [{ name: "CSV", extensions: ["csv", "txt", "tsv"] }],
    });
    return typeof picked === "string" ? picked : null;
  },
  syncStatus: () => unwrap(commands.syncStatus()),
  syncConnect: (serverUrl, email, password, shareExisting, onProgress) => {
    const channel = new Channel<SyncProgress>();
    channel.onmessage = onProgress;
    return unwrap(commands.syncConnect(serverUrl, email, password, shareExisting, channel));
  },
  syncNow: (onProgress) => {
    const channel = new Channel<SyncProgress>();
    channel.onmessage = onProgress;
    return unwrap(commands.syncNow(channel));
  },
  syncAcceptInvite: (serverUrl, code, password, shareExisting, onProgress) => {
    const channel = new Channel<SyncProgress>();
    channel.onmessage = onProgress;
    return unwrap(commands.syncAcceptInvite(serverUrl, code, password, shareExisting, channel));
  },
  syncSetInterval: (seconds) => unwrap(commands.syncSetInterval(seconds)),
  syncDisconnect: () => unwrap(commands.syncDisconnect()),
  syncConflicts: () => unwrap(commands.syncConflicts()),
  syncSetAside: () => unwrap(commands.syncSetAside()),
  peopleList: () => unwrap(commands.peopleList()),
  assignAccounts: (query, ownerId) => unwrap(commands.assignAccounts(query, ownerId)),
  peopleAdd: (person) => unwrap(commands.peopleAdd(person)),
  peopleImport: (path, check) => unwrap(commands.peopleImport(path, check)),
  peopleSetActive: (personId, active) => unwrap(commands.peopleSetActive(personId, active)),
  pickSavePath: async (defaultName, format) =>
    (await saveDialog({
      defaultPath: defaultName,
      filters: [format === "xlsx" ? { name: "Excel workbook", extensions: ["xlsx"] } : { name: "CSV", extensions: ["csv"] }],
    })) ?? null,
};
