//! The keyed-table area of the shared region, between real processes: two
//! forked children insert the same keys and add to them at the same time;
//! the parent then finds one entry per key and exact totals. Then the same
//! with a rate-limit table's rate, whose period rolls over while both
//! children hit it: no hit is lost to the rollover.
//!
//! A test of its own with no harness (`harness = false` in Cargo.toml):
//! `fork` wants a single-threaded process, and the test harness is not.

use std::sync::atomic::Ordering::Relaxed;
use weir_core::shm::region::{Plan, Region};
use weir_core::shm::{Table, TableSpec};
use weir_core::sys::{fork, Fork};

const KEYS: u64 = 200;
const ROUNDS: u64 = 2_000;
const CHILDREN: u64 = 2;

fn main() {
    let spec = TableSpec {
        slots: 4096,
        key_words: 2,
        data_words: 2,
    };
    let mut plan = Plan::default();
    plan.area(spec.words());
    let mut region = Region::map(&plan).expect("a shared region");
    let table = Table::new(region.take(spec.words()), spec, [7, 11]);
    let mut children = Vec::new();
    for c in 0..CHILDREN {
        match fork().expect("fork") {
            Fork::Child => {
                for round in 0..ROUNDS {
                    for k in 0..KEYS {
                        // Each child walks the keys in its own order, so
                        // the two insert and update the same keys at once.
                        let k = if c % 2 == 0 { k } else { KEYS - 1 - k };
                        let e = table.entry(&[k, !k], round, u64::MAX).expect("an entry");
                        e.data(0).fetch_add(1, Relaxed);
                        e.data(1).fetch_add(k, Relaxed);
                    }
                }
                std::process::exit(0);
            }
            Fork::Parent(pid) => children.push(pid),
        }
    }
    for pid in children {
        let status = nix::sys::wait::waitpid(pid, None).expect("waitpid");
        assert!(
            matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
            "child failed: {status:?}"
        );
    }
    let entries: Vec<_> = table.entries(ROUNDS, u64::MAX).collect();
    if entries.len() as u64 != KEYS {
        let mut seen = std::collections::HashMap::new();
        for e in &entries {
            let key: Vec<u64> = e.key().collect();
            *seen.entry(key).or_insert(0) += 1;
        }
        for (k, n) in seen.iter().filter(|(_, n)| **n > 1) {
            eprintln!("duplicate: {k:?} x{n}");
        }
        for e in &entries {
            let key: Vec<u64> = e.key().collect();
            if key[0] >= KEYS || key[1] != !key[0] {
                eprintln!("odd entry: {key:?} data {}", e.data(0).load(Relaxed));
            }
        }
    }
    assert_eq!(entries.len() as u64, KEYS, "one entry per key");
    for e in entries {
        let key: Vec<u64> = e.key().collect();
        assert_eq!(key[1], !key[0]);
        assert_eq!(e.data(0).load(Relaxed), CHILDREN * ROUNDS, "key {}", key[0]);
        assert_eq!(e.data(1).load(Relaxed), CHILDREN * ROUNDS * key[0]);
    }
    println!("shm_processes: {CHILDREN} processes x {ROUNDS} rounds x {KEYS} keys: exact");
    rates_roll_over_without_losing_hits();
}

/// Two children hit the rates of the same keys, on a clock that crosses
/// one period boundary half-way: each hit lands in the period before or
/// the one after, so their sum is every hit.
fn rates_roll_over_without_losing_hits() {
    use weir_core::config::model::{Counter, StickTable, Store, TableKey};
    use weir_core::shm::stick::{Key, Stick};
    const T0: u64 = 1_800_000_000_000;
    let period = ROUNDS / 2;
    let conf: &'static StickTable = Box::leak(Box::new(StickTable {
        name: "t".into(),
        key: TableKey::Integer,
        size: 1024,
        expire: None,
        store: vec![Store {
            counter: Counter::HttpReqRate,
            period_ms: period,
        }],
    }));
    let spec = TableSpec {
        slots: conf.size,
        key_words: conf.key.words(),
        data_words: conf.data_words(),
    };
    let mut plan = Plan::default();
    plan.area(spec.words());
    let mut region = Region::map(&plan).expect("a shared region");
    let st = Stick {
        conf,
        table: Table::new(region.take(spec.words()), spec, [3, 5]),
    };
    let mut children = Vec::new();
    for c in 0..CHILDREN {
        match fork().expect("fork") {
            Fork::Child => {
                for round in 0..ROUNDS {
                    for k in 0..KEYS {
                        let k = if c % 2 == 0 { k } else { KEYS - 1 - k };
                        let now = T0 + round;
                        let e = st.entry(&Key::int(k as i64), now).expect("an entry");
                        st.add(&e, Counter::HttpReqRate, 1, now);
                    }
                }
                std::process::exit(0);
            }
            Fork::Parent(pid) => children.push(pid),
        }
    }
    for pid in children {
        let status = nix::sys::wait::waitpid(pid, None).expect("waitpid");
        assert!(
            matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
            "child failed: {status:?}"
        );
    }
    for k in 0..KEYS {
        let e = st.get(&Key::int(k as i64), T0).expect("the key's entry");
        // At the start of the second period the first counts whole.
        let both = st.read(&e, Counter::HttpReqRate, T0 + period);
        assert_eq!(both, CHILDREN * ROUNDS, "key {k}");
    }
    println!("shm_processes: a rate rolled over under {CHILDREN} processes: no hit lost");
}
