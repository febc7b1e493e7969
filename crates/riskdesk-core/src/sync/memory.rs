//! A sync server kept in memory: the protocol's ordering, duplicate detection and paging
//! without a network or a database. Headless tests drive real device stores against it;
//! the real server is `riskdesk-server`.

use std::collections::HashSet;
use std::sync::Mutex;

use riskdesk_sync::change::{
    Change, PullResponse, PushRequest, PushResponse, Sequenced, PROTOCOL_VERSION,
};
use riskdesk_sync::Refusal;

use super::Transport;

/// The server's part of the protocol in memory: keeps every change once, in order.
#[derive(Default)]
pub struct MemoryServer {
    pub(crate) changes: Mutex<Vec<Change>>,
    pub(crate) ids: Mutex<HashSet<String>>,
}

impl Transport for MemoryServer {
    async fn push(&self, req: PushRequest) -> std::result::Result<PushResponse, Refusal> {
        let gone = |e: String| Refusal::Unavailable(e);
        let mut ids = self.ids.lock().map_err(|e| gone(e.to_string()))?;
        let mut changes = self.changes.lock().map_err(|e| gone(e.to_string()))?;
        let mut out = PushResponse {
            protocol: PROTOCOL_VERSION,
            accepted: 0,
            duplicates: 0,
            conflicts: vec![],
        };
        for c in req.changes() {
            if ids.insert(c.change_id.clone()) {
                out.accepted += 1;
                changes.push(c);
            } else {
                out.duplicates += 1;
            }
        }
        Ok(out)
    }

    async fn pull(
        &self,
        since: i64,
        limit: u32,
        device: &str,
    ) -> std::result::Result<PullResponse, String> {
        let changes = self.changes.lock().map_err(|e| e.to_string())?;
        let mut page: Vec<Sequenced> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| Sequenced {
                seq: i as i64 + 1,
                change: c.clone(),
            })
            .filter(|s| s.seq > since && s.change.device_id != device)
            .take(limit as usize + 1)
            .collect();
        let more = page.len() > limit as usize;
        page.truncate(limit as usize);
        let head = changes.len() as i64;
        Ok(PullResponse {
            protocol: PROTOCOL_VERSION,
            more,
            cursor: match page.last() {
                Some(s) if more => s.seq,
                _ => head.max(since),
            },
            records: PullResponse::group(page),
            head,
        })
    }
}
