//! Serde helpers for the values that take more than one shape: "an integer or
//! a string" (durations, sizes, `nbproc`), "one or a list" (`bind`, `log`),
//! "a word or a list of CPUs" (`cpu_map`), a bind entry written as a
//! string or a table, the `acl` table (names kept in file order, with their
//! spans), the `errorfile` table (likewise) and `deny` (a status or
//! `true`).
//!
//! Each is a hand-written visitor, not `#[serde(untagged)]`: untagged enums
//! buffer the value and lose the spans and the precise type errors.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use super::file::BindTable;

/// An integer or a string, checked later by [`super::units`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntOrStr {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for IntOrStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IntOrStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrStr, E> {
                Ok(IntOrStr::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrStr, E> {
                i64::try_from(v)
                    .map(IntOrStr::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrStr, E> {
                Ok(IntOrStr::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One value or a list of them; each list element keeps its span.
#[derive(Debug)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<Spanned<T>>),
}

impl<T> OneOrMany<T> {
    /// The entries; a single value gets `span`, the span of the key's value.
    pub fn entries(&self, span: Range<usize>) -> Vec<Spanned<&T>> {
        match self {
            OneOrMany::One(v) => vec![Spanned::new(span, v)],
            OneOrMany::Many(v) => v
                .iter()
                .map(|e| Spanned::new(e.span(), e.get_ref()))
                .collect(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, a table or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(StrDeserializer::<E>::new(v)).map(OneOrMany::One)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<T>>()? {
                    out.push(v);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// `cpu_map`: `"auto"`, `"none"`, or a list of CPU numbers.
#[derive(Debug)]
pub enum CpuMapRaw {
    Word(String),
    List(Vec<Spanned<i64>>),
}

impl<'de> Deserialize<'de> for CpuMapRaw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CpuMapRaw;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"auto\", \"none\" or a list of CPU numbers")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CpuMapRaw, E> {
                Ok(CpuMapRaw::Word(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CpuMapRaw, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Spanned<i64>>()? {
                    out.push(v);
                }
                Ok(CpuMapRaw::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `bind` entry: `":80"` or `{ address = ":80", backlog = 1024, … }`.
#[derive(Debug)]
pub enum BindSpec {
    Addr(String),
    Table(Box<BindTable>),
}

impl<'de> Deserialize<'de> for BindSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BindSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an address string such as \":80\" or a table with `address`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BindSpec, E> {
                Ok(BindSpec::Addr(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BindSpec, A::Error> {
                BindTable::deserialize(MapAccessDeserializer::new(map))
                    .map(|t| BindSpec::Table(Box::new(t)))
            }
        }
        d.deserialize_any(V)
    }
}

/// An `acl` table, `{ NAME = "CRITERION PATTERN…", … }`, in file order; each
/// name and each criterion keeps its span.
#[derive(Debug, Default)]
pub struct AclTable(pub Vec<(Spanned<String>, Spanned<String>)>);

impl<'de> Deserialize<'de> for AclTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AclTable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of ACLs such as { static = \"path_beg /static/\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AclTable, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, Spanned<String>>()? {
                    out.push(entry);
                }
                Ok(AclTable(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `errorfile = { 503 = "/etc/weir/errors/503.http", … }`, in file order;
/// each status and each path keeps its span.
#[derive(Debug, Default)]
pub struct StrTable(pub Vec<(Spanned<String>, Spanned<String>)>);

impl<'de> Deserialize<'de> for StrTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrTable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of files such as { 503 = \"/etc/weir/errors/503.http\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrTable, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, Spanned<String>>()? {
                    out.push(entry);
                }
                Ok(StrTable(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `deny = 403` or `deny = true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenySpec {
    Status(i64),
    Flag(bool),
}

impl<'de> Deserialize<'de> for DenySpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DenySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status code such as 403, or true")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DenySpec, E> {
                Ok(DenySpec::Status(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DenySpec, E> {
                i64::try_from(v)
                    .map(DenySpec::Status)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<DenySpec, E> {
                Ok(DenySpec::Flag(v))
            }
        }
        d.deserialize_any(V)
    }
}
