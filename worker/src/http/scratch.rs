//! Per-worker scratch lists that head parsing and rule passes reuse
//! instead of allocating per request: the list a head's fields are parsed
//! into, and the list of header edits the `http_request`/`http_response`
//! rules make. Each is lent for one use and given back.

use super::{EditOp, Header, MAX_HEADERS};

/// Most header edits whose memory is kept between rule passes.
pub const MAX_EDIT_OPS: usize = 64;

/// The worker's field list and edit list.
#[derive(Default)]
pub struct Scratch {
    headers: Vec<Header>,
    /// The memory of a rule pass's header edits (empty between uses).
    edit_ops: Vec<EditOp<'static>>,
}

impl Scratch {
    /// The list to parse a head's fields into: give it to the parser, and
    /// the head's list back with [`Scratch::put_headers`] once done with it.
    pub fn headers(&mut self) -> &mut Vec<Header> {
        if self.headers.capacity() == 0 {
            // Every head fits: the parser refuses more fields.
            self.headers.reserve_exact(MAX_HEADERS);
        }
        &mut self.headers
    }

    /// Takes back the field list of a head that is no longer needed.
    pub fn put_headers(&mut self, mut list: Vec<Header>) {
        if list.capacity() > self.headers.capacity() {
            list.clear();
            self.headers = list;
        }
    }

    /// An empty list for a rule pass's header edits, with the memory the
    /// last pass gave back ([`Scratch::put_edit_ops`]).
    pub fn edit_ops<'a>(&mut self) -> Vec<EditOp<'a>> {
        relabel(std::mem::take(&mut self.edit_ops))
    }

    /// Takes back a rule pass's edit list (its memory, up to
    /// [`MAX_EDIT_OPS`] entries).
    pub fn put_edit_ops(&mut self, ops: Vec<EditOp<'_>>) {
        if ops.capacity() <= MAX_EDIT_OPS {
            self.edit_ops = relabel(ops);
        }
    }

    /// Frees both lists (SIGQUIT).
    pub fn release(&mut self) {
        self.headers = Vec::new();
        self.edit_ops = Vec::new();
    }
}

/// An empty list of another lifetime on the same memory: the edits borrow
/// the configuration for one rule pass, the scratch keeps the memory
/// between passes. Collecting an emptied `Vec` into one of a type of the
/// same size and alignment reuses its allocation (std's in-place
/// collection; without it this would only allocate, never misbehave). The
/// list is empty, so the closure never runs: it only names the new type.
#[allow(clippy::unnecessary_filter_map)]
fn relabel<'b>(mut list: Vec<EditOp<'_>>) -> Vec<EditOp<'b>> {
    list.clear();
    list.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field list goes to the head and comes back: one list, kept.
    #[test]
    fn field_list_round_trip() {
        let mut sc = Scratch::default();
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n";
        let mut parser = crate::http::RequestParser::new(8192);
        let head = parser.parse_into(raw, sc.headers()).unwrap().unwrap();
        assert_eq!(head.headers.len(), 2);
        assert_eq!(sc.headers().capacity(), MAX_HEADERS, "a new one meanwhile");
        sc.put_headers(head.headers);
        let bad = b"GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n";
        assert!(parser.parse_into(bad, sc.headers()).is_err());
        assert!(sc.headers().capacity() >= MAX_HEADERS);
    }

    /// The edit list's memory outlives the rules that borrowed it, and a
    /// list grown past the bound is not kept.
    #[test]
    fn edit_list_memory_is_reused() {
        let mut sc = Scratch::default();
        let name = String::from("x-a");
        let mut ops = sc.edit_ops();
        ops.push(EditOp::Del(&name));
        ops.push(EditOp::Add(&name, "1"));
        let (ptr, cap) = (ops.as_ptr() as usize, ops.capacity());
        sc.put_edit_ops(ops);
        drop(name);
        let ops = sc.edit_ops();
        assert!(ops.is_empty());
        assert_eq!((ops.as_ptr() as usize, ops.capacity()), (ptr, cap));
        let mut big = ops;
        big.extend((0..=MAX_EDIT_OPS).map(|_| EditOp::Del("a")));
        sc.put_edit_ops(big);
        assert_eq!(sc.edit_ops().capacity(), 0);
    }
}
