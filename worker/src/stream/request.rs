//! Analysers 2 and 3, on a request head its mux has parsed (analyser 1):
//! the frontend's `http_request` rules, the statistics page, then
//! `use_backend` (else `default_backend`); or a local answer (error page,
//! deny, return, redirect). Also the stream of a request refused before
//! any analyser ran (a bad head, a timeout): an error page.

use super::client::ClientSide;
use super::forward::Body;
use super::sample::Sample;
use super::{reply, Phase, Stream};
use crate::context::Cx;
use crate::http::rewrite::request_head_edited;
use crate::http::{
    ConnectionHeader, EditOp, Framing, HeadEdits, RequestHead, ResponseContext, RewriteOptions,
    Version,
};
use crate::term::{At, Cause, Termination};
use crate::track::{self, View, NO_SLOTS};
use weir_core::config::model::{Acl, Balance, Counter, HttpAction, HttpReuse, HttpRule};
use weir_core::shm::Px;

/// What starting a stream decided for its client connection.
pub struct Started {
    /// Close the connection after this response.
    pub close_after: bool,
}

/// The backend a request is logged under before switching: the
/// frontend's default one.
pub fn frontend_backend(cx: &Cx, frontend: usize) -> usize {
    cx.config.frontends[frontend].default_backend.unwrap_or(0)
}

/// Makes `st` a stream that only sends error page `status` (logged with
/// `term` and `line` as its request line), then closes the connection.
/// Everything buffered from the client is dropped.
pub fn error(
    st: &mut Stream,
    cs: &mut ClientSide,
    cx: &mut Cx,
    status: u16,
    term: Termination,
    line: &str,
) {
    st.request_line.push_str(line);
    st.phase = Phase::LocalReply;
    reply::error(cx, cs.frontend, None, status, st.to_cli.vec());
    st.status = i32::from(status);
    st.term = term;
    cs.close_after = true;
    let n = cs.req.len();
    cs.req_mark = cs.req.total.wrapping_sub(n as u64);
    if let Some(fe) = cx.shared.frontends.get(cs.frontend) {
        fe.add(Px::Ereq, 1);
    }
    cs.req.consume(n, cx.pool);
    cs.requests += 1;
}

/// Analysers 2 and 3 on `head` (its spans index the client side's request
/// buffer), then the stream is set up for the server side (or a local
/// reply). The mux consumes the head afterwards, then calls
/// [`check_body`].
pub fn start(st: &mut Stream, head: &RequestHead, cs: &ClientSide, cx: &mut Cx) -> Started {
    let fe = &cx.config.frontends[cs.frontend];
    let buf = cs.req.data();
    let mut close_after = cs.close_after || !head.keep_alive || cs.draining;
    let has_body = !matches!(head.framing, Framing::None | Framing::ContentLength(0));
    let fe_backend = st.side.backend;

    // Rate-limit tables: the request counts in the entries its connection
    // tracks, and its rules may track more (`track`).
    let (config, shared) = (cx.config, cx.shared);
    let tables = !config.tables.is_empty();
    let now = if tables { track::now_ms() } else { 0 };
    let conn = cx.conn_slots(st.session);
    st.sc = NO_SLOTS;
    if tables {
        let req = [(Counter::HttpReqCnt, 1), (Counter::HttpReqRate, 1)];
        track::add_all(config, shared, &conn, &req, now);
    }

    // Analyser 2: http_request rules, each seeing the request as the
    // rules before it left it.
    let mut edits = HeadEdits {
        ops: cx.scratch.edit_ops(),
        path: None,
    };
    // An absolute-form target's authority is the Host (RFC 9112 §3.2.2):
    // the rules, the ACLs and the server all see it in place of the
    // client's `Host`, as HAProxy normalises it.
    if let Some(auth) = head.authority.map(|a| a.get(buf)) {
        let same = head
            .host
            .is_some_and(|h| h.get(buf).eq_ignore_ascii_case(auth));
        if let (false, Ok(auth)) = (same, std::str::from_utf8(auth)) {
            edits.ops.push(EditOp::Del("host"));
            edits.ops.push(EditOp::Add("host", auth));
        }
    }
    // A local reply: status, termination state, close after it; its bytes
    // are in `st.to_cli`.
    let mut local: Option<(u16, Termination, bool)> = None;
    let local_reply = Termination::new(Cause::Local, At::Request);
    for rule in &fe.http_request {
        let view = tables.then_some(View {
            config,
            shared,
            conn,
            req: st.sc,
            now,
        });
        let seen = Sample {
            edits: Some(&edits),
            view,
            ..Sample::request(head, buf, cs.addr.ip(), cs.port)
        };
        if !rule_applies(rule, &fe.acls, &seen) {
            continue;
        }
        let close = close_after || has_body;
        match &rule.action {
            HttpAction::Deny { status } => {
                if let Some(fe) = cx.shared.frontends.get(cs.frontend) {
                    fe.add(Px::Dreq, 1);
                }
                reply::error(cx, cs.frontend, None, *status, st.to_cli.vec());
                local = Some((*status, Termination::new(Cause::Proxy, At::Request), true));
                break;
            }
            HttpAction::Return {
                status,
                content_type,
                body,
            } => {
                let ct = content_type.as_deref();
                reply::ret(*status, ct, body, close, head.version, st.to_cli.vec());
                local = Some((*status, local_reply, close));
                break;
            }
            HttpAction::Redirect { target, code } => {
                reply::redirect(*code, close, head.version, st.to_cli.vec(), |out| {
                    crate::rules::redirect_location(target, &seen, out)
                });
                local = Some((*code, local_reply, close));
                break;
            }
            HttpAction::SetPath { path } => edits.path = Some(path),
            HttpAction::Track(t) => {
                if st.sc[t.slot].is_some() || conn[t.slot].is_some() {
                    continue;
                }
                let Some(stk) = shared.stick(config, t.table) else {
                    continue;
                };
                let tracked = track::key(stk.conf.key, &t.key, &seen)
                    .and_then(|k| track::start(&stk, t.table, &k, now));
                if let Some(tr) = tracked {
                    stk.add(&tr.entry, Counter::HttpReqCnt, 1, now);
                    stk.add(&tr.entry, Counter::HttpReqRate, 1, now);
                    st.sc[t.slot] = Some(tr);
                }
            }
            HttpAction::IncGpc0 { slot } => {
                if let Some(v) = view {
                    v.inc_gpc0(*slot);
                }
            }
            header_action => edit_headers(&mut edits, header_action),
        }
    }
    // The statistics page, if the listener serves one at this path (the
    // rules above may have denied it).
    if let (None, Some(page)) = (&local, fe.stats.as_ref()) {
        let close = close_after || has_body;
        if let Some(bytes) = super::stats_page::answer(page, head, buf, cx, close) {
            st.to_cli.push(&bytes);
            local = Some((200, local_reply, close));
        }
    }
    let sample = Sample {
        edits: Some(&edits),
        view: tables.then_some(View {
            config,
            shared,
            conn,
            req: st.sc,
            now,
        }),
        ..Sample::request(head, buf, cs.addr.ip(), cs.port)
    };
    // Analyser 3: use_backend, else default_backend; neither: 503.
    let chosen = crate::rules::select_backend(fe, &sample);
    if local.is_none() && chosen.is_none() {
        reply::error(cx, cs.frontend, None, 503, st.to_cli.vec());
        local = Some((503, Termination::server(At::Connect), true));
    }

    if let Some((status, term, close)) = local {
        st.phase = Phase::LocalReply;
        st.status = i32::from(status);
        st.term = term;
        close_after |= close;
    } else {
        let be_i = chosen.unwrap_or(fe_backend);
        let be = &cx.config.backends[be_i];
        st.side.backend = be_i;
        let connection = if head.upgrade {
            ConnectionHeader::Upgrade
        } else if be.http_reuse == HttpReuse::Never {
            ConnectionHeader::Close
        } else if head.version == Version::Http10 {
            ConnectionHeader::KeepAlive
        } else {
            ConnectionHeader::Omit
        };
        let opts = RewriteOptions {
            forwarded_for: (fe.forwardfor || be.forwardfor).then(|| cs.addr.ip()),
            connection,
            keep_transfer_encoding: true,
            keep_upgrade: head.upgrade,
        };
        request_head_edited(head, buf, &opts, &edits, st.to_srv.vec());
        st.set_lb_key(match &be.balance {
            // The target as received (HAProxy hashes an absolute-form URI
            // whole, up to its query).
            Balance::Uri => Some(head.target.get(buf)),
            Balance::Hdr(name) if name.eq_ignore_ascii_case("host") => {
                head.effective_host().map(|h| h.get(buf))
            }
            Balance::Hdr(name) => head.values(buf, name).next(),
            _ => None,
        });
        if cx.backends[be_i].sni_from_host {
            st.set_sni_host(head.effective_host().map(|h| h.get(buf)));
        }
        st.req_body = Body::new(head.framing);
        st.req_has_body = has_body;
        st.replayable = !has_body && head.method.is_idempotent();
        st.ctx = ResponseContext::from(head);
        st.phase = Phase::Connect;
        st.counted = true;
        cx.backends[be_i].shm.enter(cx.worker);
    }
    // The request line is checked to be visible ASCII: no replacement.
    st.request_line
        .push_str(&String::from_utf8_lossy(head.start_line.get(buf)));
    super::capture::request(st, fe, &head.headers, buf);
    cx.scratch.put_edit_ops(edits.ops);
    st.version = head.version;
    st.head_at = cx.now;
    Started { close_after }
}

/// A chunked body that arrived with its head is checked before any
/// server sees the request (the head consumed, the body's first bytes at
/// the start of the buffer): a malformed one is refused like a bad head.
pub fn check_body(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx) {
    if st.phase != Phase::Connect || st.req_body.allowed(cs.req.data()).is_ok() {
        return;
    }
    cx.backends[st.side.backend].shm.leave(cx.worker);
    st.counted = false;
    st.side.backend = frontend_backend(cx, cs.frontend);
    st.phase = Phase::LocalReply;
    reply::error(cx, cs.frontend, None, 400, st.to_cli.vec());
    st.status = 400;
    st.term = Termination::new(Cause::Proxy, At::Request);
    cs.close_after = true;
}

pub fn rule_applies(rule: &HttpRule, acls: &[Acl], sample: &Sample) -> bool {
    crate::rules::cond_holds(rule.cond.as_ref(), acls, sample)
}

/// Records a header rule (`set_header`, `add_header`, `del_header`) in
/// `edits`; other actions change nothing here.
pub fn edit_headers<'a>(edits: &mut HeadEdits<'a>, action: &'a HttpAction) {
    match action {
        HttpAction::SetHeader { name, value } => {
            edits.ops.push(EditOp::Del(name));
            edits.ops.push(EditOp::Add(name, value));
        }
        HttpAction::AddHeader { name, value } => edits.ops.push(EditOp::Add(name, value)),
        HttpAction::DelHeader { name } => edits.ops.push(EditOp::Del(name)),
        _ => {}
    }
}
