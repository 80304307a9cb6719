//! The shared region: reload carry-over, run-time server changes and DNS
//! answers as the workers and a reload see them.

use super::*;

fn config() -> Config {
    match crate::config::load_str(
        "t.toml",
        "[global]\nnbproc = 2\n[frontend.f]\nbind = [\"127.0.0.1:1\"]\ndefault_backend = \"b\"\n\
         [backend.b]\nserver = [{ name = \"s\", address = \"127.0.0.1:2\", weight = 7 }, \
         { name = \"t\", address = \"127.0.0.1:3\", disabled = true }]\n",
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn gauges_sum_over_workers_and_reset() {
    let st = SharedState::private(&config());
    let s = st.servers[0][0];
    assert_eq!(
        (s.weight(), s.status(), st.servers[0][1].status()),
        (7, "UP", "MAINT")
    );
    s.enter(0);
    s.enter(1);
    s.enter(1);
    assert_eq!((s.cur(), s.get(Srv::Stot), s.get(Srv::Smax)), (3, 3, 3));
    s.leave(0);
    s.leave(0);
    assert_eq!(s.cur(), 2);
    st.reset_worker(1);
    assert_eq!((s.cur(), s.get(Srv::Smax)), (0, 3));
}

#[test]
fn slots_hold_configured_servers_then_free_ones() {
    let config = config();
    let st = SharedState::private(&config);
    // Two configured servers, and the default headroom.
    assert_eq!(st.servers[0].len(), 2 + 16);
    let s = st.servers[0][1].identity();
    assert_eq!(
        s.as_ref()
            .map(|s| (s.name.as_str(), s.addr.port(), s.runtime)),
        Some(("t", 3, false))
    );
    assert!(st.servers[0][2].identity().is_none());
    assert!(!st.servers[0][2].usable(), "a free slot takes no traffic");
    let added = Identity {
        name: "x".repeat(servers::NAME_WORDS * 8),
        addr: "[2001:db8::7]:8443"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        backup: true,
        check: true,
        runtime: true,
        init_weight: 9,
    };
    let seq = st.servers[0][5].seq();
    st.servers[0][5].write_identity(Some(&added));
    assert_eq!(st.servers[0][5].seq(), seq + 2);
    assert_eq!(st.servers[0][5].identity(), Some(added.clone()));
    assert_eq!(st.server(&config, "b", &added.name), Some((0, 5)));
    let mut moved = added.clone();
    moved.addr = "10.1.2.3:80".parse().unwrap_or_else(|e| panic!("{e}"));
    st.servers[0][5].write_identity(Some(&moved));
    assert_eq!(st.servers[0][5].identity(), Some(moved));
    st.servers[0][5].write_identity(None);
    assert_eq!(st.server(&config, "b", &added.name), None);
}

#[test]
fn a_reload_keeps_configured_servers_only() {
    let config = config();
    let old = SharedState::private(&config);
    old.servers[0][0].add(Srv::Stot, 5);
    old.servers[0][1].add(Srv::Stot, 7);
    // `t` deleted, and its slot taken by a server added at run time.
    let added = Identity {
        name: "x".into(),
        addr: ([127, 0, 0, 1], 9).into(),
        backup: false,
        check: false,
        runtime: true,
        init_weight: 1,
    };
    old.servers[0][1].write_identity(Some(&added));
    old.servers[0][4].write_identity(Some(&Identity {
        name: "y".into(),
        ..added.clone()
    }));
    let new = SharedState::private(&config);
    new.inherit(&config, &old, &config);
    assert_eq!(new.servers[0][0].get(Srv::Stot), 5, "s carried over");
    assert_eq!(new.servers[0][1].get(Srv::Stot), 0, "not x's figures");
    assert_eq!(
        new.servers[0][1].identity().map(|i| i.name),
        Some("t".into())
    );
    assert_eq!(new.server(&config, "b", "x"), None);
    assert_eq!(new.server(&config, "b", "y"), None);
    assert!(new.servers[0][2..].iter().all(|s| !s.in_use()));
}

/// A configuration whose backend holds a named server and a template
/// of two slots resolved through DNS, with `init_addr` = `init`.
fn dns_config(init: &str) -> Config {
    let text = format!(
        "[frontend.f]\nbind = [\"127.0.0.1:1\"]\ndefault_backend = \"b\"\n\
         [resolvers.dc]\nnameservers = [\"127.0.0.1:53\"]\n\
         [backend.b]\nserver = [{{ name = \"api\", address = \"api.test:80\", \
         resolvers = \"dc\", init_addr = \"{init}\" }}]\n\
         server_template = {{ prefix = \"w\", count = 2, name = \"_a._tcp.test\", \
         resolvers = \"dc\", init_addr = \"{init}\" }}\n"
    );
    match crate::config::load_str("t.toml", &text) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

/// What the control process writes when DNS answers: slot `s` takes
/// `addr`, weight 5 and the backup flag, leaves DNS maintenance.
fn resolve(st: &SharedState, s: usize, addr: SocketAddr) {
    let shm = st.servers[0][s];
    let mut id = shm.identity().unwrap();
    id.addr = addr;
    id.backup = s == 2;
    id.init_weight = 5;
    assert!(st.set_server_identity(0, s, &id));
    shm.set(Srv::Admin, ADMIN_READY);
    shm.set(Srv::DnsMaint, 0);
}

#[test]
fn a_reload_keeps_resolved_addresses_with_last() {
    let config = dns_config("last,none");
    let old = SharedState::private(&config);
    for s in 0..3 {
        assert_eq!(old.servers[0][s].admin(), ADMIN_MAINT, "no address yet");
        assert_eq!(old.servers[0][s].get(Srv::DnsMaint), 1);
    }
    resolve(&old, 0, ([10, 0, 0, 1], 80).into());
    resolve(&old, 2, ([10, 0, 0, 2], 8002).into());
    let new = SharedState::private(&config);
    new.inherit(&config, &old, &config);
    let api = new.servers[0][0].identity().unwrap();
    assert_eq!(api.addr, SocketAddr::from(([10, 0, 0, 1], 80)));
    assert_eq!(new.servers[0][0].admin(), ADMIN_READY);
    let w2 = new.servers[0][2].identity().unwrap();
    assert_eq!((w2.addr.port(), w2.backup, w2.init_weight), (8002, true, 5));
    assert_eq!(new.servers[0][2].get(Srv::DnsMaint), 0);
    // w1 had no address: it still waits for DNS.
    assert_eq!(new.servers[0][1].admin(), ADMIN_MAINT);
    assert_eq!(new.servers[0][1].get(Srv::DnsMaint), 1);
}

#[test]
fn a_reload_forgets_resolved_addresses_without_last() {
    let config = dns_config("none");
    let old = SharedState::private(&config);
    resolve(&old, 0, ([10, 0, 0, 1], 80).into());
    resolve(&old, 1, ([10, 0, 0, 2], 8002).into());
    let new = SharedState::private(&config);
    new.inherit(&config, &old, &config);
    for s in 0..2 {
        let shm = new.servers[0][s];
        assert!(shm.identity().unwrap().addr.ip().is_unspecified());
        assert_eq!((shm.admin(), shm.get(Srv::DnsMaint)), (ADMIN_MAINT, 1));
    }
}

#[test]
fn state_changes() {
    let st = SharedState::private(&config());
    let s = st.servers[0][0];
    s.set_down(true, 100);
    assert_eq!((s.status(), s.get(Srv::ChkDown)), ("DOWN", 1));
    s.set_down(false, 160);
    assert_eq!((s.status(), s.get(Srv::Downtime)), ("UP", 60));
    s.set(Srv::Admin, ADMIN_DRAIN);
    assert!(!s.usable());
    assert_eq!(s.status(), "DRAIN");
    st.frontends[0].count_status(503);
    assert_eq!(st.frontends[0].get(Px::Hrsp5xx), 1);
}
