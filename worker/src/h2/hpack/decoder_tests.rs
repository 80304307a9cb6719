//! The decoder against RFC 7541 Appendix C, and each of its refusals.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fields(list: &HeaderList) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

fn run(d: &mut Decoder, block: &str) -> Vec<(String, String)> {
    let mut list = HeaderList::new();
    d.decode(&hex(block), &mut list, 1 << 20).unwrap();
    fields(&list)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

const REQ1: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const REQ2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQ3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];

#[test]
fn rfc7541_c3_requests_without_huffman() {
    let mut d = Decoder::new(4096);
    assert_eq!(
        run(&mut d, "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
        pairs(REQ1)
    );
    assert_eq!(d.table().size(), 57);
    assert_eq!(
        run(&mut d, "8286 84be 5808 6e6f 2d63 6163 6865"),
        pairs(REQ2)
    );
    assert_eq!(d.table().size(), 110);
    assert_eq!(
        run(
            &mut d,
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"
        ),
        pairs(REQ3)
    );
    assert_eq!(d.table().size(), 164);
    assert_eq!(
        d.table().get(0).unwrap(),
        (&b"custom-key"[..], &b"custom-value"[..])
    );
}

#[test]
fn rfc7541_c4_requests_with_huffman() {
    let mut d = Decoder::new(4096);
    assert_eq!(
        run(&mut d, "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
        pairs(REQ1)
    );
    assert_eq!(run(&mut d, "8286 84be 5886 a8eb 1064 9cbf"), pairs(REQ2));
    assert_eq!(
        run(
            &mut d,
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"
        ),
        pairs(REQ3)
    );
    assert_eq!(d.table().size(), 164);
}

#[test]
fn rfc7541_c5_responses_with_eviction() {
    // The examples use a 256-byte table: the peer lowers it with an update.
    let mut d = Decoder::new(4096);
    let mut list = HeaderList::new();
    d.decode(&[0x3f, 0xe1, 0x01], &mut list, 1 << 20).unwrap(); // size 256
    assert_eq!(d.table().max_size(), 256);
    let r1 = run(
        &mut d,
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 \
         3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 \
         7861 6d70 6c65 2e63 6f6d",
    );
    assert_eq!(
        r1,
        pairs(&[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ])
    );
    assert_eq!(d.table().size(), 222);
    let r2 = run(&mut d, "4803 3330 37c1 c0bf");
    assert_eq!(r2[0], (":status".into(), "307".into()));
    assert_eq!(r2[1..], r1[1..]);
    assert_eq!(d.table().size(), 222);
    let r3 = run(
        &mut d,
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 \
         474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 \
         454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 \
         6572 7369 6f6e 3d31",
    );
    assert_eq!(
        r3,
        pairs(&[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"
            ),
        ])
    );
    assert_eq!(d.table().size(), 215);
    assert_eq!(d.table().len(), 3);
}

#[test]
fn rfc7541_c2_literal_kinds() {
    let mut d = Decoder::new(4096);
    // C.2.2 without indexing, C.2.3 never indexed: the table stays empty.
    assert_eq!(
        run(&mut d, "040c 2f73 616d 706c 652f 7061 7468"),
        pairs(&[(":path", "/sample/path")])
    );
    assert_eq!(
        run(&mut d, "1008 7061 7373 776f 7264 0673 6563 7265 74"),
        pairs(&[("password", "secret")])
    );
    assert!(d.table().is_empty());
    // C.2.4 indexed.
    assert_eq!(run(&mut d, "82"), pairs(&[(":method", "GET")]));
}

fn err(d: &mut Decoder, block: &[u8], max: usize) -> HpackError {
    d.decode(block, &mut HeaderList::new(), max).unwrap_err()
}

#[test]
fn refusals() {
    let mut d = Decoder::new(4096);
    assert_eq!(err(&mut d, &[0x80], 1 << 16), HpackError::BadIndex);
    assert_eq!(err(&mut d, &[0xbe], 1 << 16), HpackError::BadIndex); // 62: empty dynamic table
    assert_eq!(err(&mut d, &[0xff], 1 << 16), HpackError::Truncated);
    assert_eq!(
        err(&mut d, &[0x40, 0x05, b'a'], 1 << 16),
        HpackError::Truncated
    );
    assert_eq!(err(&mut d, &[0x04], 1 << 16), HpackError::Truncated);
    let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert_eq!(err(&mut d, &huge, 1 << 16), HpackError::IntegerOverflow);
    let long = [0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
    assert_eq!(err(&mut d, &long, 1 << 16), HpackError::IntegerOverflow);
    // A Huffman value with bad padding.
    let bad_pad = [0x00, 0x01, b'a', 0x81, 0x1e];
    assert_eq!(
        err(&mut d, &bad_pad, 1 << 16),
        HpackError::Huffman(HuffmanError::Padding)
    );
}

#[test]
fn table_size_updates_only_first_and_bounded() {
    let mut d = Decoder::new(4096);
    // Two updates at the start are fine; then a field.
    let mut list = HeaderList::new();
    d.decode(&[0x20, 0x3f, 0x61, 0x82], &mut list, 1 << 16)
        .unwrap();
    assert_eq!(d.table().max_size(), 128);
    // An update after a field.
    assert_eq!(
        err(&mut d, &[0x82, 0x20], 1 << 16),
        HpackError::LateTableSizeUpdate
    );
    // Over the limit weir advertised (4096): 4097.
    assert_eq!(
        err(&mut d, &[0x3f, 0xe2, 0x1f], 1 << 16),
        HpackError::TableSizeOverLimit
    );
    // An update alone (at the end of nothing) is at the start: accepted.
    d.decode(&[0x3f, 0xe1, 0x1f], &mut HeaderList::new(), 1 << 16)
        .unwrap();
    assert_eq!(d.table().max_size(), 4096);
}

#[test]
fn a_lowered_setting_requires_an_update() {
    let mut d = Decoder::new(4096);
    d.set_limit(100);
    assert_eq!(
        err(&mut d, &[0x82], 1 << 16),
        HpackError::MissingTableSizeUpdate
    );
    let mut d = Decoder::new(4096);
    d.set_limit(100);
    assert_eq!(
        err(&mut d, &[0x3f, 0x46, 0x82], 1 << 16),
        HpackError::TableSizeOverLimit
    );
    d.decode(&[0x3f, 0x45, 0x82], &mut HeaderList::new(), 1 << 16)
        .unwrap(); // 100
    d.decode(&[0x82], &mut HeaderList::new(), 1 << 16).unwrap();
}

#[test]
fn list_size_is_enforced_while_decoding() {
    let mut d = Decoder::new(4096);
    // ":method: GET" is 7 + 3 + 32 = 42 bytes.
    let mut list = HeaderList::new();
    d.decode(&[0x82, 0x82], &mut list, 84).unwrap();
    assert_eq!(list.size(), 84);
    let mut list = HeaderList::new();
    assert_eq!(
        d.decode(&[0x82, 0x82, 0x82], &mut list, 84),
        Err(HpackError::ListTooLarge)
    );
    assert_eq!(list.len(), 2);
    // A literal value over the limit is refused before it is copied.
    let mut block = vec![0x00, 0x01, b'k', 0x7f, 0xad, 0x01];
    block.extend(std::iter::repeat_n(b'v', 300));
    let mut list = HeaderList::new();
    assert_eq!(
        d.decode(&block, &mut list, 200),
        Err(HpackError::ListTooLarge)
    );
    assert_eq!(list.mark(), 0);
    assert_eq!(
        HpackError::ListTooLarge.code(),
        ErrorCode::ENHANCE_YOUR_CALM
    );
    assert_eq!(HpackError::BadIndex.code(), ErrorCode::COMPRESSION_ERROR);
}

#[test]
fn hpack_bomb_stops_at_the_limit() {
    // One 4000-byte entry, then indexed references to it: each byte of
    // input would be 4 KB of output.
    let mut d = Decoder::new(4096);
    let mut block = vec![0x40, 0x01, b'b', 0x7f, 0x9f, 0x1e];
    block.extend(std::iter::repeat_n(b'x', 3998));
    block.extend(std::iter::repeat_n(0xbe, 100_000));
    let mut list = HeaderList::new();
    assert_eq!(
        d.decode(&block, &mut list, 65_536),
        Err(HpackError::ListTooLarge)
    );
    assert!(list.size() <= 65_536);
    assert_eq!(list.len(), 16);
}

#[test]
fn never_panics_on_prefixes_of_valid_blocks() {
    let blocks = [
        hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
        hex("4803 3330 3258 0770 7269 7661 7465"),
    ];
    for b in &blocks {
        for n in 0..b.len() {
            let mut d = Decoder::new(4096);
            let _ = d.decode(&b[..n], &mut HeaderList::new(), 1 << 16);
        }
    }
}
