//! DNS answers (`weir_worker::control::dns::codec`) on arbitrary bytes,
//! the way discovery reads them: over UDP, and over TCP behind the
//! two-byte length. Never panics; what `addresses` and `srv_records`
//! return comes from the records parsed, each once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_worker::control::dns::codec::{addresses, parse, srv_records, tcp_message, Record};

fuzz_target!(|data: &[u8]| {
    for msg in [Some(data), tcp_message(data)].into_iter().flatten() {
        let Ok(answer) = parse(msg) else { continue };
        let names: Vec<&str> = answer
            .records
            .iter()
            .map(|r| match r {
                Record::Addr { name, .. } | Record::Srv { name, .. } | Record::Cname { name, .. } => {
                    name.as_str()
                }
            })
            .chain(answer.question.as_deref())
            .collect();
        for name in names {
            let ips = addresses(&answer.records, name);
            for (i, (ip, _)) in ips.iter().enumerate() {
                assert!(!ips[..i].iter().any(|(o, _)| o == ip));
            }
            for s in srv_records(&answer.records, name) {
                assert!(s.port != 0 && !s.target.is_empty());
                let _ = addresses(&answer.records, &s.target);
            }
        }
    }
});
