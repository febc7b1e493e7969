//! Riskdesk desktop shell. It opens the local store, loads a demo book on first start and
//! exposes riskdesk-core through typed commands; no domain logic lives here.

mod commands;
mod desktop;
mod error;
mod notices;
mod startup;
mod updates;

use std::path::{Path, PathBuf};

use riskdesk_core::health;
use riskdesk_core::Store;
use tauri::Manager;

pub use error::AppError;

pub struct AppState {
    pub store: Store,
    pub database_path: PathBuf,
    /// The sync token: the OS keychain, else a file only this user reads.
    pub vault: std::sync::Arc<riskdesk_core::sync::Vault>,
    /// Whether the store is ready, or what it is waiting for.
    pub startup: startup::Shared,
}

/// The command set, shared by the app and the bindings export.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new().commands(tauri_specta::collect_commands![
        commands::app_info,
        commands::store_size,
        commands::compact_store,
        commands::show_logs,
        updates::check_for_update,
        notices::notify_settings,
        notices::save_notify_settings,
        updates::install_update,
        commands::startup_status,
        commands::start_demo,
        commands::start_empty,
        commands::list_users,
        commands::list_teams,
        commands::current_user,
        commands::set_current_user,
        commands::query_accounts,
        commands::account_detail,
        commands::currencies,
        commands::account_health,
        commands::recompute_account,
        commands::recompute_all,
        commands::last_recompute_day,
        commands::override_measure,
        commands::remove_override,
        commands::measure_kinds,
        commands::list_scorecards,
        commands::save_scorecard,
        commands::signal_thresholds,
        commands::save_signal_thresholds,
        commands::stage_criteria,
        commands::save_stage_criteria,
        commands::history_retention,
        commands::save_history_retention,
        commands::log_nps_response,
        commands::severity_config,
        commands::save_severity_config,
        commands::work::account_ctas,
        commands::work::cockpit_ctas,
        commands::work::cta_detail,
        commands::work::create_cta,
        commands::work::edit_cta,
        commands::work::close_cta,
        commands::work::snooze_cta,
        commands::work::add_risk_update,
        commands::work::flag_cta,
        commands::work::add_cta_task,
        commands::work::set_task_done,
        commands::work::log_activity,
        commands::work::account_timeline,
        commands::rules::list_rules,
        commands::rules::export_rules,
        commands::rules::import_rules,
        commands::rules::save_rule,
        commands::rules::set_rule_enabled,
        commands::rules::preview_rule,
        commands::rules::run_rules,
        commands::rules::rule_run_log,
        commands::rules::rule_schedule,
        commands::rules::save_rule_schedule,
        commands::rules::list_playbooks,
        commands::rules::save_playbook,
        commands::worklist::worklist_page,
        commands::worklist::why_here,
        commands::worklist::renewal_triage,
        commands::worklist::triage_settings,
        commands::worklist::save_triage_settings,
        commands::worklist::risk_huddle,
        commands::worklist::export_huddle,
        commands::worklist::tech_touch_lane,
        commands::worklist::priority_config,
        commands::worklist::save_priority_config,
        commands::worklist::risk_categories,
        commands::worklist::save_risk_category,
        commands::worklist::remove_risk_category,
        commands::escalation::escalation_criteria,
        commands::escalation::save_escalation_criteria,
        commands::escalation::escalate_account,
        commands::escalation::de_escalate,
        commands::escalation::close_escalation,
        commands::escalation::wbr,
        commands::escalation::add_escalation_action,
        commands::escalation::set_escalation_action_done,
        commands::escalation::add_escalation_decision,
        commands::escalation::escalation_refinement,
        commands::worklist::dashboard,
        commands::worklist::report_preview,
        commands::worklist::export_report,
        commands::data::analyze_import,
        commands::data::run_import,
        commands::data::import_history,
        commands::data::export_list,
        commands::sync::sync_status,
        commands::sync::sync_connect,
        commands::sync::sync_now,
        commands::sync::sync_accept_invite,
        commands::sync::sync_set_interval,
        commands::sync::sync_disconnect,
        commands::sync::sync_conflicts,
        commands::sync::sync_set_aside,
        commands::team::people_list,
        commands::assign_accounts,
        commands::team::people_add,
        commands::team::people_import,
        commands::team::people_set_active,
    ])
}

/// Exports the TypeScript bindings. Money crosses as a JS number: amounts are kept below
/// 2^53 by the store, so the i64 → number mapping is exact.
pub fn export_bindings(
    builder: &tauri_specta::Builder<tauri::Wry>,
    path: &Path,
) -> Result<(), String> {
    let ts = specta_typescript::Typescript::default()
        .bigint(specta_typescript::BigIntExportBehavior::Number)
        .header("// Generated by tauri-specta from src-tauri; do not edit. `cargo test -p riskdesk-app` regenerates it.\n// @ts-nocheck: generated code keeps helpers this app does not use.\n/* eslint-disable */");
    builder.export(ts, path).map_err(|e| e.to_string())
}

/// The schedules, checked once the store is ready and every ten minutes while the app runs: a full
/// recompute (then the rules) whenever the last one was before today, and a full rule
/// run whenever the rule schedule says one is due.
pub(crate) async fn schedules(store: Store) {
    loop {
        let today = chrono::Utc::now().date_naive();
        match health::last_computed_day(store.pool()).await {
            Ok(Some(day)) if day >= today => {}
            Ok(_) => {
                let scope = riskdesk_core::refresh::Scope::Book;
                match riskdesk_core::refresh::run(&store, scope, today, "daily", |_, _| {}).await {
                    Ok(s) => tracing::info!(
                        accounts = s.health.accounts,
                        ms = s.duration_ms,
                        "daily refresh"
                    ),
                    Err(e) => tracing::error!(error = %e, "daily refresh failed"),
                }
            }
            Err(e) => tracing::error!(error = %e, "could not read the last recompute"),
        }
        match riskdesk_core::rules::run::scheduled_run_due(store.pool(), chrono::Utc::now()).await {
            Ok(true) => {
                let run = riskdesk_core::rules::run::run(
                    &store,
                    None,
                    today,
                    false,
                    riskdesk_core::rules::run::SCHEDULED,
                );
                if let Err(e) = run.await {
                    tracing::error!(error = %e, "scheduled rule run failed");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "could not read the rule schedule"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(10 * 60)).await;
    }
}

/// While connected to a server, syncs every `sync.interval_seconds` (a minute unless changed); a
/// failure (offline) is noted for the status bar and retried on the next round.
async fn background_sync(store: Store, vault: std::sync::Arc<riskdesk_core::sync::Vault>) {
    use riskdesk_core::sync;
    // A short tick, so a changed interval takes effect within seconds.
    let mut last = std::time::Instant::now();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let pool = store.pool();
        let connected = matches!(vault.load(), Ok(Some(_)));
        let every = sync::interval(pool).await.unwrap_or(sync::DEFAULT_INTERVAL);
        if !connected || last.elapsed() < std::time::Duration::from_secs(every.into()) {
            continue;
        }
        last = std::time::Instant::now();
        if let Err(e) = commands::sync::sync_with_stored(&store, &vault, |_| {}).await {
            tracing::warn!(error = %e, "background sync failed");
        }
    }
}

/// Where the store lives: `RISKDESK_DATA_DIR` when set (tests, portable installs),
/// else the OS app-data directory.
fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    if let Some(dir) = desktop::data_dir_from_env() {
        return Ok(dir);
    }
    Ok(app.path().app_data_dir()?)
}

/// A store from a release before 16 KB pages is given them before it opens (a whole-book
/// refresh takes ~15 % less time on them), when it is small enough to rewrite at once.
/// Whatever happens, the store then opens as it is.
fn repage(path: &Path) {
    use riskdesk_core::store::{repage_at_start, Repaged, PAGE_SIZE};
    let started = std::time::Instant::now();
    match repage_at_start(path) {
        Ok(Repaged::Nothing) => {}
        Ok(Repaged::From(was)) => tracing::info!(
            was,
            now = PAGE_SIZE,
            took_ms = started.elapsed().as_millis() as u64,
            "the store was given larger pages"
        ),
        Ok(Repaged::TooLarge(bytes)) => tracing::info!(
            bytes,
            "the store keeps its smaller pages; `riskdesk compact` with the app closed gives it larger ones"
        ),
        Err(e) => tracing::warn!(error = %e, "the store keeps its page size"),
    }
}

pub fn run() {
    let builder = specta_builder();
    let result = tauri::Builder::default()
        // First: a second start must end before anything else opens the store.
        .plugin(desktop::single_instance())
        .plugin(desktop::logging())
        .plugin(desktop::window_state())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(tauri_plugin_notification::init())
        .manage(updates::Pending::default())
        .plugin(tauri_plugin_dialog::init())
        .on_window_event(desktop::on_window_event)
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let database_path = data_dir(app)?.join("riskdesk.db");
            tracing::info!(path = %database_path.display(), "opening the local store");
            repage(&database_path);
            // Migrations only: the window appears at once and shows what follows.
            let store = tauri::async_runtime::block_on(Store::open(&database_path))?;
            let status = startup::shared();
            tauri::async_runtime::spawn(startup::run(
                store.clone(),
                status.clone(),
                startup::demo_without_asking(),
            ));
            let device =
                tauri::async_runtime::block_on(riskdesk_core::sync::device_id(store.pool()))?;
            let vault = std::sync::Arc::new(riskdesk_core::sync::Vault::for_store(
                &database_path,
                &device,
            ));
            tauri::async_runtime::block_on(riskdesk_core::sync::adopt_old_token(&store, &vault))?;
            tauri::async_runtime::spawn(background_sync(store.clone(), vault.clone()));
            tauri::async_runtime::spawn(notices::run(app.handle().clone(), store.clone()));
            app.manage(AppState {
                store,
                database_path,
                vault,
                startup: status,
            });
            Ok(())
        })
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("Riskdesk could not start: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when ui/src/bindings.ts differs from what the commands generate, after
    /// rewriting it, so a stale file is caught in CI and fixed by one local run.
    #[test]
    fn typescript_bindings_are_current() {
        let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
        let dir = tempfile::tempdir().expect("temp dir");
        let fresh_path = dir.path().join("bindings.ts");
        export_bindings(&specta_builder(), &fresh_path).expect("export bindings");
        let fresh = std::fs::read_to_string(&fresh_path).expect("read fresh bindings");
        assert!(
            fresh.contains("queryAccounts"),
            "export produced no commands"
        );
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        if committed != fresh {
            std::fs::write(&committed_path, &fresh).expect("write bindings");
            panic!("ui/src/bindings.ts was stale; it has been regenerated: review and commit it");
        }
    }

    #[test]
    fn core_errors_map_to_typed_ipc_errors() {
        let e: AppError = riskdesk_core::Error::NotFound {
            entity: "account",
            id: "x".into(),
        }
        .into();
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["kind"], "NotFound");
        assert_eq!(json["detail"]["entity"], "account");
        let e: AppError = riskdesk_core::Error::UnknownCurrency("XYZ".into()).into();
        assert_eq!(serde_json::to_value(&e).expect("json")["kind"], "Invalid");
    }
}
