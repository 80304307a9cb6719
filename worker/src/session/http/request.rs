//! Analysers 1 to 3: wait for a complete request head, run the frontend's
//! `http_request` rules, choose the backend (`use_backend`, else
//! `default_backend`); or answer locally (error page, deny, return,
//! redirect).

use super::forward::Body;
use super::process::*;
use super::reply;
use super::sample::Sample;
use super::{HttpSession, Phase};
use crate::http::rewrite::request_head_edited;
use crate::http::{
    ConnectionHeader, EditOp, Framing, HeadEdits, RequestHead, ResponseContext, RewriteOptions,
    Version,
};
use crate::session::{At, Cause, Termination};
use weir_core::config::model::{Balance, HttpAction, HttpReuse, HttpRule};
use weir_core::shm::Px;

/// Analyser 1: wait for a complete request head.
pub(super) fn wait_request(s: &mut HttpSession, cx: &mut HttpCtx) -> Step {
    if s.req.is_empty() {
        return if s.req.shutr {
            Step::Close
        } else {
            Step::Continue(false)
        };
    }
    match s.parser.parse_into(s.req.data(), cx.spares.headers()) {
        Ok(None) if s.req.is_full() => local_error(
            s,
            cx,
            400,
            Termination::new(Cause::Proxy, At::Request),
            "<BADREQ>",
        ),
        Ok(None) if s.req.shutr => {
            // The client left in the middle of a head.
            local_error(s, cx, 400, Termination::client(At::Request), "<BADREQ>");
            if let Some(st) = s.stream.as_mut() {
                st.to_cli.reset();
            }
            Step::Continue(true)
        }
        Ok(None) => Step::Continue(false),
        Err(e) => {
            cx.logger.debug(&format!(
                "bad request from {}: {}",
                s.client_addr,
                e.as_str()
            ));
            local_error(
                s,
                cx,
                400,
                Termination::new(Cause::Proxy, At::Request),
                "<BADREQ>",
            )
        }
        Ok(Some(head)) => {
            start_stream(s, cx, &head);
            cx.spares.put_headers(head.headers);
            Step::Continue(true)
        }
    }
}

/// A stream that only sends an error page and closes the connection.
pub(super) fn local_error(
    s: &mut HttpSession,
    cx: &mut HttpCtx,
    status: u16,
    term: Termination,
    line: &str,
) -> Step {
    let (start, date) = s.req_start.take().unwrap_or((cx.now, cx.date));
    let backend = s.frontend_backend(cx);
    let mut st = cx
        .spares
        .stream(backend, start, date, cx.now, cx.config.global.bufsize);
    st.request_line.push_str(line);
    st.phase = Phase::LocalReply;
    reply::error_page(status, st.to_cli.vec());
    st.status = i32::from(status);
    st.term = term;
    s.close_after = true;
    let n = s.req.len();
    s.req_mark = s.req.total.wrapping_sub(n as u64);
    if let Some(fe) = cx.shared.frontends.get(s.frontend) {
        fe.add(Px::Ereq, 1);
    }
    s.req.consume(n, cx.pool);
    s.requests += 1;
    s.stream = Some(st);
    Step::Continue(true)
}

impl HttpSession {
    /// The backend a request is logged under before switching: the
    /// frontend's default one.
    pub(super) fn frontend_backend(&self, cx: &HttpCtx) -> usize {
        cx.config.frontends[self.frontend]
            .default_backend
            .unwrap_or(0)
    }
}

/// Analysers 2 and 3, then the stream is set up for the server side (or a
/// local reply).
pub(super) fn start_stream(s: &mut HttpSession, cx: &mut HttpCtx, head: &RequestHead) {
    let fe = &cx.config.frontends[s.frontend];
    let buf = s.req.data();
    let (start, date) = s.req_start.take().unwrap_or((cx.now, cx.date));
    s.requests += 1;
    if !head.keep_alive || s.draining {
        s.close_after = true;
    }
    let has_body = !matches!(head.framing, Framing::None | Framing::ContentLength(0));
    // The stream first, logged under the frontend's backend until one is
    // chosen: a local reply is written straight into its outbox.
    let bufsize = cx.config.global.bufsize;
    let fe_backend = s.frontend_backend(cx);
    let mut st = cx.spares.stream(fe_backend, start, date, cx.now, bufsize);

    // Analyser 2: http_request rules, each seeing the request as the
    // rules before it left it.
    let mut edits = HeadEdits {
        ops: cx.spares.edit_ops(),
        path: None,
    };
    // A local reply: status, termination state, close after it; its bytes
    // are in `st.to_cli`.
    let mut local: Option<(u16, Termination, bool)> = None;
    for rule in &fe.http_request {
        let seen = Sample {
            edits: Some(&edits),
            ..Sample::request(head, buf, s.client_addr.ip(), s.dst_port)
        };
        if !rule_applies(rule, &fe.acls, &seen) {
            continue;
        }
        let close = s.close_after || has_body;
        match &rule.action {
            HttpAction::Deny { status } => {
                if let Some(fe) = cx.shared.frontends.get(s.frontend) {
                    fe.add(Px::Dreq, 1);
                }
                reply::error_page(*status, st.to_cli.vec());
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
                local = Some((*status, Termination::new(Cause::Local, At::Request), close));
                break;
            }
            HttpAction::Redirect { target, code } => {
                reply::redirect(*code, close, head.version, st.to_cli.vec(), |out| {
                    crate::rules::redirect_location(target, &seen, out)
                });
                local = Some((*code, Termination::new(Cause::Local, At::Request), close));
                break;
            }
            HttpAction::SetPath { path } => edits.path = Some(path),
            header_action => edit_headers(&mut edits, header_action),
        }
    }
    // The statistics page, if the listener serves one at this path (the
    // rules above may have denied it).
    if let (None, Some(page)) = (&local, fe.stats.as_ref()) {
        let close = s.close_after || has_body;
        if let Some(bytes) = super::stats_page::answer(page, head, buf, cx, close) {
            st.to_cli.push(&bytes);
            local = Some((200, Termination::new(Cause::Local, At::Request), close));
        }
    }
    let sample = Sample {
        edits: Some(&edits),
        ..Sample::request(head, buf, s.client_addr.ip(), s.dst_port)
    };
    // Analyser 3: use_backend, else default_backend; neither: 503.
    let chosen = crate::rules::select_backend(fe, &sample);
    if local.is_none() && chosen.is_none() {
        reply::error_page(503, st.to_cli.vec());
        local = Some((503, Termination::server(At::Connect), true));
    }

    if let Some((status, term, close)) = local {
        st.phase = Phase::LocalReply;
        st.status = i32::from(status);
        st.term = term;
        s.close_after |= close;
    } else {
        // Analyser 3: use_backend, else default_backend.
        let be_i = chosen.unwrap_or(fe_backend);
        let be = &cx.config.backends[be_i];
        st.backend = be_i;
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
            forwarded_for: (fe.forwardfor || be.forwardfor).then(|| s.client_addr.ip()),
            connection,
            keep_transfer_encoding: true,
            keep_upgrade: head.upgrade,
        };
        request_head_edited(head, buf, &opts, &edits, st.to_srv.vec());
        st.set_lb_key(match &be.balance {
            Balance::Uri => Some(crate::rules::path_and_query(head.target.get(buf))),
            Balance::Hdr(name) => head.values(buf, name).next(),
            _ => None,
        });
        st.req_body = Body::new(head.framing);
        st.req_has_body = has_body;
        st.ctx = ResponseContext::from(head);
        st.phase = Phase::Connect;
        st.counted = true;
        cx.backends[be_i].shm.enter(cx.worker);
    }
    // The request line is checked to be visible ASCII: no replacement.
    st.request_line
        .push_str(&String::from_utf8_lossy(head.start_line.get(buf)));
    cx.spares.put_edit_ops(edits.ops);
    st.version = head.version;
    st.head_at = cx.now;
    s.req_mark = s.req.total.wrapping_sub(head.head_len as u64);
    s.req.consume(head.head_len, cx.pool);
    // A chunked body that arrived with its head is checked before any
    // server sees the request: a malformed one is refused like a bad head.
    if st.phase == Phase::Connect && st.req_body.allowed(s.req.data()).is_err() {
        cx.backends[st.backend].shm.leave(cx.worker);
        st.counted = false;
        st.backend = s.frontend_backend(cx);
        st.phase = Phase::LocalReply;
        reply::error_page(400, st.to_cli.vec());
        st.status = 400;
        st.term = Termination::new(Cause::Proxy, At::Request);
        s.close_after = true;
    }
    s.stream = Some(st);
}

pub(super) fn rule_applies(
    rule: &HttpRule,
    acls: &[weir_core::config::model::Acl],
    sample: &Sample,
) -> bool {
    crate::rules::cond_holds(rule.cond.as_ref(), acls, sample)
}

/// Records a header rule (`set_header`, `add_header`, `del_header`) in
/// `edits`; other actions change nothing here.
pub(super) fn edit_headers<'a>(edits: &mut HeadEdits<'a>, action: &'a HttpAction) {
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
