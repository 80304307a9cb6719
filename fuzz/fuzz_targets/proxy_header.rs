//! The PROXY protocol header parser (`weir_worker::conn::proxy`) on
//! arbitrary bytes: it never panics; a header it accepts is accepted the
//! same at its exact length and every shorter prefix of it is "more,
//! please" (so a header trickling in is read whole, never past its end);
//! what it says, written again, reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_worker::conn::proxy::{parse, write_v1, write_v2, Header};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((header, len))) = parse(data) else {
        return;
    };
    assert!(len <= data.len());
    assert_eq!(parse(&data[..len]), Ok(Some((header, len))));
    for k in 0..len {
        assert_eq!(parse(&data[..k]), Ok(None), "prefix {k} of {len}");
    }
    if let Header::Proxy { src, dst } = header {
        let mut out = Vec::new();
        write_v2(src, dst, &mut out);
        assert_eq!(parse(&out), Ok(Some((header, out.len()))));
        out.clear();
        write_v1(src, dst, &mut out);
        assert!(matches!(parse(&out), Ok(Some((Header::Proxy { .. }, n))) if n == out.len()));
    }
});
