//! Analysers 6 and 7: parse the response head in the stream's response
//! channel; forward interim (1xx) ones as they come; apply the frontend's
//! `http_response` rules and write the head for the client.

use super::client::ClientSide;
use super::forward::Body;
use super::request::{edit_headers, rule_applies};
use super::sample::Sample;
use super::{Stream, Transition};
use crate::context::Cx;
use crate::http::rewrite::response_head_edited;
use crate::http::{ConnectionHeader, Framing, HeadEdits, RewriteOptions, Version};
use crate::term::{At, Cause, Termination};
use crate::track::View;
use weir_core::config::model::HttpAction;

/// Analysers 6 and 7.
pub fn parse(st: &mut Stream, cs: &mut ClientSide, cx: &mut Cx) -> Transition {
    let mut progress = false;
    loop {
        let parsed = st
            .res_parser
            .parse_into(st.res.data(), st.ctx, cx.scratch.headers());
        let head = match parsed {
            Ok(None) if st.res.is_full() => {
                return Transition::Error(502, Termination::new(Cause::Proxy, At::Headers))
            }
            Ok(None) if st.res.shutr => return Transition::ServerFailed,
            Ok(None) => return Transition::Continue(progress),
            Err(e) => {
                cx.logger
                    .debug(&format!("invalid response: {}", e.as_str()));
                return Transition::Error(502, Termination::new(Cause::Proxy, At::Headers));
            }
            Ok(Some(h)) => h,
        };
        progress = true;
        let data = st.res.data();
        if head.interim {
            st.to_cli.push(&data[..head.head_len]);
            let head_len = head.head_len;
            cx.scratch.put_headers(head.headers);
            st.res.consume(head_len, cx.pool);
            continue;
        }
        st.status = i32::from(head.status);
        st.res_head_at = Some(cx.now);
        st.tunnel = head.framing == Framing::Tunnel;
        if head.framing == Framing::UntilClose {
            cs.close_after = true;
        }
        let fe = &cx.config.frontends[cs.frontend];
        super::capture::response(&mut st.res_captures, fe, &head.headers, data);
        let mut sample =
            Sample::response(&st.request_line, &head.headers, data, cs.addr.ip(), cs.port);
        sample.status = head.status;
        if !cx.config.tables.is_empty() {
            sample.view = Some(View {
                config: cx.config,
                shared: cx.shared,
                conn: cx.conn_slots(st.session),
                req: st.sc,
                now: crate::track::now_ms(),
            });
        }
        let mut edits = HeadEdits {
            ops: cx.scratch.edit_ops(),
            path: None,
        };
        for rule in fe
            .http_response
            .iter()
            .filter(|r| rule_applies(r, &fe.acls, &sample))
        {
            match (&rule.action, sample.view) {
                (HttpAction::IncGpc0 { slot }, Some(v)) => v.inc_gpc0(*slot),
                (action, _) => edit_headers(&mut edits, action),
            }
        }
        let connection = if st.tunnel {
            ConnectionHeader::Upgrade
        } else if cs.close_after {
            ConnectionHeader::Close
        } else if st.version == Version::Http10 {
            ConnectionHeader::KeepAlive
        } else {
            ConnectionHeader::Omit
        };
        let opts = RewriteOptions {
            forwarded_for: None,
            connection: if st.tunnel && head.status != 101 {
                ConnectionHeader::Omit
            } else {
                connection
            },
            keep_transfer_encoding: true,
            keep_upgrade: st.tunnel,
        };
        response_head_edited(&head, data, &opts, &edits, st.to_cli.vec());
        cx.scratch.put_edit_ops(edits.ops);
        st.res_body = Body::new(head.framing);
        st.srv_keep_alive =
            head.keep_alive && !matches!(head.framing, Framing::UntilClose | Framing::Tunnel);
        st.res_head_done = true;
        st.to_srv.reset();
        let head_len = head.head_len;
        cx.scratch.put_headers(head.headers);
        st.res.consume(head_len, cx.pool);
        return Transition::Continue(true);
    }
}
