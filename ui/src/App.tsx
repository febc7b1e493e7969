import { useCallback, useEffect, useMemo, useState } from "react";
import type { Backend, Currency, Team, User } from "./backend";
import { BackendError } from "./backend";
import { AppContext, type AppContextValue, describeUser } from "./context";
import { SECTIONS, type Section } from "./sections";
import { roleLabel } from "./format";
import { AccountsScreen, type AccountsView, DEFAULT_ACCOUNTS_VIEW } from "./screens/AccountsScreen";
import { AccountPage } from "./screens/AccountPage";
import { SettingsScreen, type Tab as SettingsTab } from "./screens/SettingsScreen";
import { CockpitScreen } from "./screens/CockpitScreen";
import { WorklistScreen } from "./screens/WorklistScreen";
import { EscalationsScreen } from "./screens/EscalationsScreen";
import { DashboardsScreen } from "./screens/DashboardsScreen";
import type { WorklistPreset } from "./screens/WorklistScreen";
import { RulesScreen } from "./screens/RulesScreen";
import { ImportScreen } from "./screens/ImportScreen";
import { UserPicker } from "./components/UserPicker";
import { ErrorBanner } from "./components/ErrorBanner";
import { SYNCED, SyncStatusLine } from "./components/Sync";
import { StartupScreen } from "./screens/StartupScreen";
import { AboutBox, HelpOverlay } from "./components/HelpOverlay";
import { isTextEntry } from "./keys";
import type { AppInfo } from "./backend";

export function App({ backend }: { backend: Backend }) {
  const [ready, setReady] = useState<{ startedEmpty: User | null } | null>(null);
  if (!ready) return <StartupScreen backend={backend} onReady={(startedEmpty) => setReady((was) => was ?? { startedEmpty })} />;
  return <Workspace backend={backend} startedEmpty={ready.startedEmpty} />;
}

/** The app proper, once the store is ready. `startedEmpty` is the admin who just started
 * an empty store: they land on Import with what to do next. */
function Workspace({ backend, startedEmpty }: { backend: Backend; startedEmpty: User | null }) {
  const [section, setSection] = useState<Section>(startedEmpty ? "import" : "worklist");
  const [welcome, setWelcome] = useState(startedEmpty !== null);
  const [settingsTab, setSettingsTab] = useState<SettingsTab>("you");
  const [openAccount, setOpenAccount] = useState<string | null>(null);
  const [user, setUser] = useState<User | null>(null);
  const [userChecked, setUserChecked] = useState(false);
  const [currencies, setCurrencies] = useState<Map<string, Currency>>(new Map());
  const [teams, setTeams] = useState<Map<string, Team>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [accountsView, setAccountsView] = useState<AccountsView>(DEFAULT_ACCOUNTS_VIEW);
  // Set by a dashboard click; the nav's own Worklist starts unfiltered.
  const [worklistPreset, setWorklistPreset] = useState<WorklistPreset | undefined>(undefined);
  const [overlay, setOverlay] = useState<"help" | "about" | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);

  const reportError = useCallback((e: unknown) => {
    setError(e instanceof BackendError || e instanceof Error ? e.message : String(e));
  }, []);

  useEffect(() => {
    backend
      .currentUser()
      .then((u) => setUser(u))
      .catch(reportError)
      .finally(() => setUserChecked(true));
    backend
      .currencies()
      .then((list) => setCurrencies(new Map(list.map((c) => [c.currency, c]))))
      .catch(reportError);
    backend
      .listTeams()
      .then((list) => setTeams(new Map(list.map((t) => [t.id, t]))))
      .catch(reportError);
  }, [backend, reportError]);

  // A first sync may make this device's user the server's record of the same person.
  useEffect(() => {
    const again = () => {
      backend
        .currentUser()
        .then((u) => setUser((was) => (was?.id === u?.id && was?.role === u?.role && was?.name === u?.name ? was : u)))
        .catch(reportError);
    };
    window.addEventListener(SYNCED, again);
    return () => window.removeEventListener(SYNCED, again);
  }, [backend, reportError]);

  const context: AppContextValue = useMemo(
    () => ({ backend, user, currencies, teams, reportError }),
    [backend, user, currencies, teams, reportError],
  );

  // `?` lists the shortcuts anywhere, unless the user is typing.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key === "?" && !(t && isTextEntry(t)) && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        setOverlay("help");
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const closeOverlay = useCallback(() => setOverlay(null), []);
  const openAbout = () => {
    setOverlay("about");
    backend.appInfo().then(setInfo).catch(reportError);
  };
  const showLogs = () => {
    backend.showLogs().catch(reportError);
  };

  const go = (s: Section) => {
    setSection(s);
    setOpenAccount(null);
  };


  return (
    <AppContext.Provider value={context}>
      <div className="app">
        <nav className="sidebar" aria-label="Sections">
          <button className="brand" onClick={openAbout} title="About Riskdesk" data-testid="brand">
            <span className="brand-mark">▲</span> Riskdesk
          </button>
          <ul>
            {SECTIONS.map((s) => (
              <li key={s.id}>
                <button
                  className={s.id === section ? "nav-item active" : "nav-item"}
                  onClick={() => {
                    setWorklistPreset(undefined);
                    go(s.id);
                  }}
                  data-testid={`nav-${s.id}`}
                  aria-current={s.id === section ? "page" : undefined}
                >
                  <span className="nav-icon" aria-hidden>
                    {s.icon}
                  </span>
                  {s.label}
                </button>
              </li>
            ))}
          </ul>
          <div className="sidebar-foot">
            <SyncStatusLine onOpen={() => go("settings")} />
            {user && (
              <button className="user-chip" onClick={() => go("settings")} title="Change who you are in Settings" data-testid="current-user">
                <span className="avatar">{initials(user.name)}</span>
                <span>
                  <strong>{user.name}</strong>
                  <small>{user.role === "csm" ? describeUser(user, teams) : `${roleLabel[user.role]} · ${describeUser(user, teams)}`}</small>
                </span>
              </button>
            )}
          </div>
        </nav>
        {overlay === "help" && <HelpOverlay onClose={closeOverlay} />}
        {overlay === "about" && <AboutBox info={info} onShowLogs={showLogs} onClose={closeOverlay} />}
        <main className="main">
          {error && <ErrorBanner message={error} onClose={() => setError(null)} />}
          {welcome && startedEmpty && (
            <section className="card welcome" data-testid="welcome">
              <h2>Welcome, {startedEmpty.name.split(" ")[0]}</h2>
              <p className="muted">
                Your store is empty and you are its admin. First import your team (Settings › People: a Salesforce User report or HubSpot owners export), then your accounts below, then
                usage, tickets and NPS. Accounts without data show no score until they have some. Joining a team that already uses Riskdesk? Connect to its server instead: your
                team's people and your accounts come from there.
              </p>
              <div className="actions">
                <button
                  className="button secondary"
                  onClick={() => {
                    setSettingsTab("people");
                    go("settings");
                  }}
                  data-testid="welcome-people"
                >
                  Import people
                </button>
                <button
                  className="button secondary"
                  onClick={() => {
                    setSettingsTab("sync");
                    go("settings");
                  }}
                  data-testid="welcome-sync"
                >
                  Connect to my team's server
                </button>
                <button className="link" onClick={() => setWelcome(false)}>
                  Dismiss
                </button>
              </div>
            </section>
          )}
          {openAccount ? (
            <AccountPage accountId={openAccount} onBack={() => setOpenAccount(null)} />
          ) : section === "accounts" ? (
            <AccountsScreen view={accountsView} onViewChange={setAccountsView} onOpen={setOpenAccount} />
          ) : section === "worklist" ? (
            <WorklistScreen key={`${user?.id ?? "nobody"}-${JSON.stringify(worklistPreset)}`} onOpenAccount={setOpenAccount} preset={worklistPreset} />
          ) : section === "dashboards" ? (
            <DashboardsScreen
              onDrill={(p) => {
                setWorklistPreset(p);
                go("worklist");
              }}
            />
          ) : section === "escalations" ? (
            <EscalationsScreen onOpenAccount={setOpenAccount} />
          ) : section === "cockpit" ? (
            <CockpitScreen key={user?.id ?? "nobody"} onOpenAccount={setOpenAccount} />
          ) : section === "import" ? (
            <ImportScreen onOpenAccounts={() => go("accounts")} />
          ) : section === "rules" ? (
            <RulesScreen />
          ) : (
            <SettingsScreen key={settingsTab} onUserChange={setUser} initialTab={settingsTab} />
          )}
        </main>
        {userChecked && !user && <UserPicker onChosen={setUser} />}
      </div>
    </AppContext.Provider>
  );
}

export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((p) => p[0]?.toUpperCase() ?? "")
    .join("");
}
