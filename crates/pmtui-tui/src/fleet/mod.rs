//! The UI's data layer: one connection per host behind one interface. Each host's
//! connection runs in its own task (`link`); the runtime hands every request to `send`,
//! which finds the host it belongs to and runs it on that host's client in a task of its
//! own, so the event loop never awaits a daemon. Replies and events come back as `Msg`s with
//! process ids in the UI's numbering (`translate`), so the model and views key rows by one
//! id whatever the number of hosts.

mod link;
mod translate;

use crate::hosts::HostIx;
use crate::msg::{Msg, Tag};
use link::{Link, Slot};
use pmtui_client::{Client, Endpoint};
use pmtui_proto::{Request, Response};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use translate::{Ids, Route};

struct Host {
    label: String,
    ids: Ids,
    slot: Slot,
    task: JoinHandle<()>,
}

pub(crate) struct Fleet {
    hosts: Vec<Host>,
    /// This machine's daemon, where the add form's starts go.
    local: Option<HostIx>,
    tx: mpsc::UnboundedSender<Msg>,
}

impl Fleet {
    /// One connection per endpoint; `first` is an already connected client of the only
    /// host (several hosts connect in their tasks, so one slow host delays nothing).
    pub fn new(
        endpoints: Vec<Endpoint>,
        mut first: Option<Client>,
        tx: &mpsc::UnboundedSender<Msg>,
    ) -> Self {
        let multi = endpoints.len() > 1;
        let local = endpoints.iter().position(|e| !e.is_remote());
        let hosts = endpoints
            .into_iter()
            .enumerate()
            .map(|(host, endpoint)| {
                let ids = Ids { host, multi };
                let slot = Slot::default();
                let label = endpoint.label();
                let link = Link {
                    ids,
                    endpoint,
                    slot: Arc::clone(&slot),
                    tx: tx.clone(),
                };
                let task = tokio::spawn(link.run(first.take()));
                Host {
                    label,
                    ids,
                    slot,
                    task,
                }
            })
            .collect();
        Self {
            hosts,
            local,
            tx: tx.clone(),
        }
    }

    fn multi(&self) -> bool {
        self.hosts.len() > 1
    }

    /// `Effect::Send`: to the host the request belongs to, or to every connected one.
    pub fn send(&self, tag: Tag, request: Request) {
        if !self.multi() {
            self.call(0, tag, request, false);
            return;
        }
        match translate::route(request) {
            Route::Host(host, request) => self.call(host, tag, request, false),
            Route::Local(request) => match self.local {
                Some(host) => self.call(host, tag, request, false),
                None => {
                    let why = "starting needs this machine's daemon among the hosts".into();
                    let _ = self.tx.send(Msg::Reply(tag, Err(why)));
                }
            },
            Route::Every(request) => {
                // Hosts that are away miss it; they get their own when they are back.
                for (host, h) in self.hosts.iter().enumerate() {
                    if self.client(h).is_some() {
                        self.call(host, tag.clone(), request.clone(), false);
                    }
                }
            }
        }
    }

    /// `Effect::SendTo`: to one host, its reply tagged with the host.
    pub fn send_to(&self, host: HostIx, tag: Tag, request: Request) {
        self.call(host, tag, request, true);
    }

    fn client(&self, host: &Host) -> Option<Arc<Client>> {
        host.slot.lock().ok().and_then(|slot| slot.clone())
    }

    fn call(&self, host: HostIx, tag: Tag, request: Request, tagged: bool) {
        let tx = self.tx.clone();
        let reply = move |tag: Tag, result: Result<Response, String>| {
            let msg = if tagged {
                Msg::HostReply(host, tag, result)
            } else {
                Msg::Reply(tag, result)
            };
            let _ = tx.send(msg);
        };
        let Some(h) = self.hosts.get(host) else {
            reply(tag, Err(format!("no host number {host}")));
            return;
        };
        let Some(client) = self.client(h) else {
            let why = if self.multi() {
                format!("{} is disconnected", h.label)
            } else {
                "the daemon is not reachable".to_string()
            };
            reply(tag, Err(why));
            return;
        };
        let ids = h.ids;
        tokio::spawn(async move {
            let result = client
                .request(request)
                .await
                .map(|response| ids.response(response))
                .map_err(|e| e.to_string());
            reply(tag, result);
        });
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The connections end with their tasks (ssh killed with its process group).
        for host in &self.hosts {
            host.task.abort();
        }
    }
}
