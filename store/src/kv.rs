//! One storage interface, two engines: the embedded default (redb) and PostgreSQL.
//!
//! Everything the store keeps is a table of ordered keys and values, written in transactions
//! that commit all or nothing. This module is that interface, shaped like redb's own so the
//! store reads the same over either engine:
//!
//! - [`TableDef`] names a table and its key and value types; [`Database::begin_write`] and
//!   [`Reading::begin_read`] open transactions; tables opened in them get, insert, remove and
//!   iterate in key order.
//! - **redb** ([`Database::Redb`]) is a thin pass-through: the same file, the same table layout
//!   as before this interface existed.
//! - **PostgreSQL** ([`Database::Postgres`]) keeps every table in one relation
//!   `dossier_kv(tbl, k, v)`, primary key `(tbl, k)`, with keys in an order-preserving encoding
//!   ([`Ordered`]) so that PostgreSQL's byte order is the key order, and values in redb's own
//!   byte encoding. Write transactions are serialised by a transaction-level advisory lock taken
//!   first (one writer at a time, as in redb: the ledger is sequenced by the database and can
//!   never fork, and a check-then-insert inside one write is not a race); read transactions are
//!   `REPEATABLE READ READ ONLY`, one consistent snapshot, as redb's are. Row counts are kept in
//!   `dossier_kv_len` so a table's length is one lookup, not a scan. Every statement is a
//!   prepared statement with the table's name and the key and value as parameters.
//! - The schema is versioned ([`SCHEMA_VERSION`], table `dossier_schema`): migrations run at
//!   start-up under the same lock, and a database made by a newer dossier is refused.

use crate::StoreError;
use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

/// The PostgreSQL schema this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;

/// The advisory lock every PostgreSQL write transaction takes first ("dossier" in ASCII), as
/// [`BEGIN_WRITE`] writes it out.
#[cfg(test)]
const WRITER_LOCK: i64 = 0x0064_6f73_7369_6572;

/// A write's first message: its transaction and the writers' advisory lock, in one round
/// trip. The lock's number is "dossier" in ASCII (`0x0064_6f73_7369_6572`; a test checks the
/// two agree); nothing in this text comes from input.
macro_rules! begin_write {
    () => {
        "BEGIN; SELECT pg_advisory_xact_lock(28270039319274866)"
    };
}

/// A read's first message.
macro_rules! begin_read {
    () => {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    };
}

const BEGIN_WRITE: &str = begin_write!();
const BEGIN_READ: &str = begin_read!();

/// The first messages on a connection whose last read left its transaction open.
const BEGIN_READ_AFTER_READ: &str = concat!("ROLLBACK; ", begin_read!());
const BEGIN_WRITE_AFTER_READ: &str = concat!("ROLLBACK; ", begin_write!());

/// How long a pooled connection may keep a finished read's transaction open (see
/// [`Conn::open_read`]) before the pool's sweeper ends it.
const OPEN_READ_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Rows fetched per round trip when a PostgreSQL table is iterated.
const PAGE: i64 = 512;

/// A table: its name and the types of its keys and values.
pub struct TableDef<K: Ordered, V: redb::Value + 'static> {
    name: &'static str,
    types: PhantomData<(K, V)>,
}

impl<K: Ordered, V: redb::Value + 'static> Clone for TableDef<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: Ordered, V: redb::Value + 'static> Copy for TableDef<K, V> {}

impl<K: Ordered, V: redb::Value + 'static> TableDef<K, V> {
    /// A table named `name` (stable: it is the file's and the database's layout).
    pub const fn new(name: &'static str) -> Self {
        TableDef {
            name,
            types: PhantomData,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn redb(&self) -> redb::TableDefinition<'static, K, V> {
        redb::TableDefinition::new(self.name)
    }
}

// ---------------------------------------------------------------------------------------------
// Keys in an order-preserving byte encoding.

/// A key type whose encoding sorts bytewise as redb sorts the keys: unsigned integers big-endian,
/// fixed arrays as they are, strings as UTF-8 (inside a tuple, with `00` escaped as `00 FF` and
/// ended by `00 00`, so a shorter string sorts first), tuples element by element.
pub trait Ordered: redb::Key + 'static {
    /// The decoded key, owning its data.
    type Owned;
    /// Appends the encoding of `v`; `last` is true for the last element of a key.
    fn put(v: &Self::SelfType<'_>, last: bool, out: &mut Vec<u8>);
    /// Reads one element from the front of `b`; `None` when `b` is not such an encoding.
    fn take(b: &mut &[u8], last: bool) -> Option<Self::Owned>;
    /// A view of the owned key as redb's key type.
    fn view(o: &Self::Owned) -> Self::SelfType<'_>;
}

/// The encoding of a whole key.
pub fn encode_key<K: Ordered>(k: &K::SelfType<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    K::put(k, true, &mut out);
    out
}

/// A whole key decoded; `None` when bytes are left over or missing.
pub fn decode_key<K: Ordered>(mut b: &[u8]) -> Option<K::Owned> {
    let k = K::take(&mut b, true)?;
    b.is_empty().then_some(k)
}

macro_rules! ordered_uint {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            type Owned = $t;
            fn put(v: &$t, _: bool, out: &mut Vec<u8>) {
                out.extend_from_slice(&v.to_be_bytes());
            }
            fn take(b: &mut &[u8], _: bool) -> Option<$t> {
                const N: usize = std::mem::size_of::<$t>();
                let (head, rest) = b.split_first_chunk::<N>()?;
                *b = rest;
                Some(<$t>::from_be_bytes(*head))
            }
            fn view(o: &$t) -> $t {
                *o
            }
        }
    )*};
}
ordered_uint!(u8, u16, u32, u64);

impl Ordered for [u8; 32] {
    type Owned = [u8; 32];
    fn put(v: &[u8; 32], _: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(v);
    }
    fn take(b: &mut &[u8], _: bool) -> Option<[u8; 32]> {
        let (head, rest) = b.split_first_chunk::<32>()?;
        *b = rest;
        Some(*head)
    }
    fn view(o: &[u8; 32]) -> [u8; 32] {
        *o
    }
}

impl Ordered for &'static str {
    type Owned = String;
    fn put(v: &&str, last: bool, out: &mut Vec<u8>) {
        if last {
            out.extend_from_slice(v.as_bytes());
            return;
        }
        for &c in v.as_bytes() {
            out.push(c);
            if c == 0 {
                out.push(0xFF);
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
    fn take(b: &mut &[u8], last: bool) -> Option<String> {
        if last {
            let s = String::from_utf8(b.to_vec()).ok()?;
            *b = &[];
            return Some(s);
        }
        let mut raw = Vec::new();
        let mut i = 0;
        loop {
            match (b.get(i)?, b.get(i + 1)) {
                (0, Some(0)) => break,
                (0, Some(0xFF)) => {
                    raw.push(0);
                    i += 2;
                }
                (0, _) => return None,
                (&c, _) => {
                    raw.push(c);
                    i += 1;
                }
            }
        }
        *b = &b[i + 2..];
        String::from_utf8(raw).ok()
    }
    fn view(o: &String) -> &str {
        o.as_str()
    }
}

macro_rules! ordered_tuple {
    ($($n:tt $t:ident),+ ; $ln:tt $lt:ident) => {
        impl<$($t: Ordered,)+ $lt: Ordered> Ordered for ($($t,)+ $lt) {
            type Owned = ($($t::Owned,)+ $lt::Owned);
            fn put(v: &Self::SelfType<'_>, last: bool, out: &mut Vec<u8>) {
                $($t::put(&v.$n, false, out);)+
                $lt::put(&v.$ln, last, out);
            }
            fn take(b: &mut &[u8], last: bool) -> Option<Self::Owned> {
                Some(($($t::take(b, false)?,)+ $lt::take(b, last)?))
            }
            fn view(o: &Self::Owned) -> Self::SelfType<'_> {
                ($($t::view(&o.$n),)+ $lt::view(&o.$ln))
            }
        }
    };
}
ordered_tuple!(0 A; 1 B);
ordered_tuple!(0 A, 1 B; 2 C);
ordered_tuple!(0 A, 1 B, 2 C; 3 D);

// ---------------------------------------------------------------------------------------------
// Values and keys read back.

/// A value read from a table.
pub enum Guard<'a, V: redb::Value + 'static> {
    /// Read by redb.
    Redb(redb::AccessGuard<'a, V>),
    /// Read from PostgreSQL: redb's encoding of the value.
    Bytes(Vec<u8>),
}

impl<V: redb::Value + 'static> Guard<'_, V> {
    /// The value.
    pub fn value(&self) -> V::SelfType<'_> {
        match self {
            Guard::Redb(g) => g.value(),
            Guard::Bytes(b) => V::from_bytes(b),
        }
    }
}

/// A key read from a table.
pub enum KeyGuard<'a, K: Ordered> {
    /// Read by redb.
    Redb(redb::AccessGuard<'a, K>),
    /// Read from PostgreSQL and decoded.
    Owned(K::Owned),
}

impl<K: Ordered> KeyGuard<'_, K> {
    /// The key.
    pub fn value(&self) -> K::SelfType<'_> {
        match self {
            KeyGuard::Redb(g) => g.value(),
            KeyGuard::Owned(o) => K::view(o),
        }
    }
}

/// One row of an iteration.
pub type Row<'a, K, V> = (KeyGuard<'a, K>, Guard<'a, V>);

// ---------------------------------------------------------------------------------------------
// Databases and transactions.

/// A writable database.
pub enum Database {
    /// The embedded default.
    Redb(redb::Database),
    /// A PostgreSQL server.
    Postgres(Postgres),
}

/// A database opened to be read only.
pub enum ReadOnlyDatabase {
    /// A redb file opened read-only (it is never modified).
    Redb(redb::ReadOnlyDatabase),
    /// A PostgreSQL server (read transactions only are taken).
    Postgres(Postgres),
}

/// What can be read: both kinds of database.
pub trait Reading {
    /// A consistent snapshot.
    fn begin_read(&self) -> Result<ReadTxn<'_>, StoreError>;
    /// The engine, for what only one engine can do.
    fn engine(&self) -> Engine;
}

/// Which engine a database is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default.
    Redb,
    /// PostgreSQL.
    Postgres,
}

impl Reading for Database {
    fn begin_read(&self) -> Result<ReadTxn<'_>, StoreError> {
        Ok(match self {
            Database::Redb(db) => ReadTxn::Redb(redb::ReadableDatabase::begin_read(db)?),
            Database::Postgres(pg) => ReadTxn::Postgres(pg.begin(Mode::Read)?, PhantomData),
        })
    }
    fn engine(&self) -> Engine {
        match self {
            Database::Redb(_) => Engine::Redb,
            Database::Postgres(_) => Engine::Postgres,
        }
    }
}

impl Reading for ReadOnlyDatabase {
    fn begin_read(&self) -> Result<ReadTxn<'_>, StoreError> {
        Ok(match self {
            ReadOnlyDatabase::Redb(db) => ReadTxn::Redb(redb::ReadableDatabase::begin_read(db)?),
            ReadOnlyDatabase::Postgres(pg) => ReadTxn::Postgres(pg.begin(Mode::Read)?, PhantomData),
        })
    }
    fn engine(&self) -> Engine {
        match self {
            ReadOnlyDatabase::Redb(_) => Engine::Redb,
            ReadOnlyDatabase::Postgres(_) => Engine::Postgres,
        }
    }
}

impl Database {
    /// A write transaction: the only writer until it commits or is dropped (dropped: nothing
    /// it wrote remains).
    pub fn begin_write(&self) -> Result<WriteTxn, StoreError> {
        Ok(match self {
            Database::Redb(db) => WriteTxn::Redb(db.begin_write()?),
            Database::Postgres(pg) => WriteTxn::Postgres(pg.begin(Mode::Write)?),
        })
    }
}

/// A read transaction: one consistent snapshot.
// One per operation, on the stack for its length: boxing redb's would cost more than it saves.
#[allow(clippy::large_enum_variant)]
pub enum ReadTxn<'d> {
    /// redb's.
    Redb(redb::ReadTransaction),
    /// PostgreSQL's (`REPEATABLE READ READ ONLY`).
    Postgres(PgTxn, PhantomData<&'d ()>),
}

impl ReadTxn<'_> {
    /// The names of the tables that exist in the snapshot (redb: created; PostgreSQL: holding
    /// a row), for backups that must copy every one.
    pub fn table_names(&self) -> Result<Vec<String>, StoreError> {
        match self {
            ReadTxn::Redb(txn) => {
                use redb::{MultimapTableHandle, TableHandle};
                let mut names: Vec<String> =
                    txn.list_tables()?.map(|t| t.name().to_string()).collect();
                names.extend(txn.list_multimap_tables()?.map(|t| t.name().to_string()));
                Ok(names)
            }
            ReadTxn::Postgres(txn, _) => {
                let rows = txn.with(|c| {
                    c.query(
                        "SELECT tbl FROM dossier_kv_len WHERE n > 0",
                        &[],
                        "listing tables",
                    )
                })?;
                Ok(rows.into_iter().map(|r| r.get(0)).collect())
            }
        }
    }

    /// Reads ahead rows of several tables (of one key type) in one round trip, for a reader
    /// that knows what it will touch across tables (a path in both registry trees). The rows
    /// are then read from the tables as usual; on redb this does nothing.
    pub fn prefetch<'k, K: Ordered + 'k, V: redb::Value + 'static>(
        &self,
        rows: impl IntoIterator<Item = (TableDef<K, V>, K::SelfType<'k>)>,
    ) -> Result<(), StoreError> {
        match self {
            ReadTxn::Redb(_) => Ok(()),
            ReadTxn::Postgres(txn, _) => txn.prefetch(
                rows.into_iter()
                    .map(|(def, k)| (def.name, encode_key::<K>(&k)))
                    .collect(),
            ),
        }
    }

    /// A table of the snapshot; a table that was never created reads as empty.
    pub fn open_table<K: Ordered, V: redb::Value + 'static>(
        &self,
        def: TableDef<K, V>,
    ) -> Result<ReadTable<'_, K, V>, StoreError> {
        match self {
            ReadTxn::Redb(txn) => match txn.open_table(def.redb()) {
                Ok(t) => Ok(ReadTable::Redb(t)),
                Err(redb::TableError::TableDoesNotExist(_)) => Ok(ReadTable::Missing),
                Err(e) => Err(e.into()),
            },
            ReadTxn::Postgres(txn, _) => Ok(ReadTable::Postgres(PgTable::new(txn, def.name))),
        }
    }
}

/// A write transaction.
// One per operation, on the stack for its length: boxing redb's would cost more than it saves.
#[allow(clippy::large_enum_variant)]
pub enum WriteTxn {
    /// redb's.
    Redb(redb::WriteTransaction),
    /// PostgreSQL's (under the writers' advisory lock).
    Postgres(PgTxn),
}

impl WriteTxn {
    /// A table, created if it does not exist.
    pub fn open_table<K: Ordered, V: redb::Value + 'static>(
        &self,
        def: TableDef<K, V>,
    ) -> Result<Table<'_, K, V>, StoreError> {
        Ok(match self {
            WriteTxn::Redb(txn) => Table::Redb(txn.open_table(def.redb())?),
            WriteTxn::Postgres(txn) => Table::Postgres(PgTable::new(txn, def.name), PhantomData),
        })
    }

    /// Makes everything written durable, or nothing.
    pub fn commit(self) -> Result<(), StoreError> {
        match self {
            WriteTxn::Redb(txn) => Ok(txn.commit()?),
            WriteTxn::Postgres(txn) => txn.commit(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tables.

/// What can be read from a table, in a read or a write transaction.
pub trait Readable<K: Ordered, V: redb::Value + 'static> {
    /// The value under `key`.
    fn get<'k>(
        &self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Guard<'_, V>>, StoreError>;
    /// The rows whose keys are in `range`, in key order.
    fn range<'k, KR: Borrow<K::SelfType<'k>> + 'k>(
        &self,
        range: impl RangeBounds<KR> + 'k,
    ) -> Result<Rows<'_, K, V>, StoreError>;
    /// Every row, in key order.
    fn iter(&self) -> Result<Rows<'_, K, V>, StoreError>;
    /// How many rows.
    fn len(&self) -> Result<u64, StoreError>;
    /// The first row.
    fn first(&self) -> Result<Option<Row<'_, K, V>>, StoreError>;
    /// The last row.
    fn last(&self) -> Result<Option<Row<'_, K, V>>, StoreError>;
    /// Reads the rows of `keys` ahead, in one round trip where the engine has round trips
    /// (PostgreSQL); the rows are then read or written without waiting.
    /// The keys are taken lazily: an engine without round trips (redb) never walks them.
    fn prefetch<'k>(
        &self,
        keys: impl IntoIterator<Item = K::SelfType<'k>>,
    ) -> Result<(), StoreError>;
    /// Whether the table has no rows.
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

/// A table in a write transaction.
pub enum Table<'t, K: Ordered, V: redb::Value + 'static> {
    /// redb's.
    Redb(redb::Table<'t, K, V>),
    /// PostgreSQL's.
    Postgres(PgTable<'t>, PhantomData<(K, V)>),
}

/// A table in a read transaction.
pub enum ReadTable<'t, K: Ordered, V: redb::Value + 'static> {
    /// redb's.
    Redb(redb::ReadOnlyTable<K, V>),
    /// A redb table that was never created: empty.
    Missing,
    /// PostgreSQL's.
    Postgres(PgTable<'t>),
}

fn bound_bytes<'k, K: Ordered, KR: Borrow<K::SelfType<'k>>>(b: Bound<&KR>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(encode_key::<K>(k.borrow())),
        Bound::Excluded(k) => Bound::Excluded(encode_key::<K>(k.borrow())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn redb_row<'a, K: Ordered, V: redb::Value + 'static>(
    r: Result<(redb::AccessGuard<'a, K>, redb::AccessGuard<'a, V>), redb::StorageError>,
) -> Result<Row<'a, K, V>, StoreError> {
    let (k, v) = r?;
    Ok((KeyGuard::Redb(k), Guard::Redb(v)))
}

macro_rules! readable {
    ($ty:ident, $($redb:ident)::+, $pg:pat => $pgt:expr, $($missing:pat => $empty:expr)?) => {
        impl<K: Ordered, V: redb::Value + 'static> Readable<K, V> for $ty<'_, K, V> {
            fn get<'k>(
                &self,
                key: impl Borrow<K::SelfType<'k>>,
            ) -> Result<Option<Guard<'_, V>>, StoreError> {
                match self {
                    $($redb)::+(t) => {
                        Ok(redb::ReadableTable::get(t, key)?.map(Guard::Redb))
                    }
                    $pg => $pgt.get(&encode_key::<K>(key.borrow())).map(|v| v.map(Guard::Bytes)),
                    $($missing => { let _ = key; Ok(None) })?
                }
            }
            fn range<'k, KR: Borrow<K::SelfType<'k>> + 'k>(
                &self,
                range: impl RangeBounds<KR> + 'k,
            ) -> Result<Rows<'_, K, V>, StoreError> {
                match self {
                    $($redb)::+(t) => Ok(Rows::Redb(redb::ReadableTable::range(t, range)?)),
                    $pg => Ok(Rows::Postgres(PgRows::new(
                        $pgt,
                        bound_bytes::<K, KR>(range.start_bound()),
                        bound_bytes::<K, KR>(range.end_bound()),
                    ))),
                    $($missing => $empty)?
                }
            }
            fn iter(&self) -> Result<Rows<'_, K, V>, StoreError> {
                match self {
                    $($redb)::+(t) => Ok(Rows::Redb(redb::ReadableTable::iter(t)?)),
                    $pg => Ok(Rows::Postgres(PgRows::new(
                        $pgt,
                        Bound::Unbounded,
                        Bound::Unbounded,
                    ))),
                    $($missing => $empty)?
                }
            }
            fn prefetch<'k>(
                &self,
                keys: impl IntoIterator<Item = K::SelfType<'k>>,
            ) -> Result<(), StoreError> {
                match self {
                    $($redb)::+(_) => Ok(()),
                    $pg => $pgt.prefetch(keys.into_iter().map(|k| encode_key::<K>(&k)).collect()),
                    $($missing => { let _ = keys; Ok(()) })?
                }
            }
            fn len(&self) -> Result<u64, StoreError> {
                match self {
                    $($redb)::+(t) => Ok(redb::ReadableTableMetadata::len(t)?),
                    $pg => $pgt.len(),
                    $($missing => Ok(0))?
                }
            }
            fn first(&self) -> Result<Option<Row<'_, K, V>>, StoreError> {
                match self {
                    $($redb)::+(t) => redb::ReadableTable::first(t)?
                        .map(|r| redb_row(Ok(r)))
                        .transpose(),
                    $pg => $pgt.end(false)?.map(|(k, v)| pg_row::<K, V>(k, v)).transpose(),
                    $($missing => Ok(None))?
                }
            }
            fn last(&self) -> Result<Option<Row<'_, K, V>>, StoreError> {
                match self {
                    $($redb)::+(t) => redb::ReadableTable::last(t)?
                        .map(|r| redb_row(Ok(r)))
                        .transpose(),
                    $pg => $pgt.end(true)?.map(|(k, v)| pg_row::<K, V>(k, v)).transpose(),
                    $($missing => Ok(None))?
                }
            }
        }
    };
}
readable!(Table, Table::Redb, Table::Postgres(t, _) => t,);
readable!(ReadTable, ReadTable::Redb, ReadTable::Postgres(t) => t, ReadTable::Missing => Ok(Rows::Empty));

impl<K: Ordered, V: redb::Value + 'static> Table<'_, K, V> {
    /// Sets `key` to `value`; returns the value it replaces.
    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<Option<Guard<'_, V>>, StoreError> {
        match self {
            Table::Redb(t) => Ok(t.insert(key, value)?.map(Guard::Redb)),
            Table::Postgres(t, _) => {
                let bytes = V::as_bytes(value.borrow());
                t.insert(&encode_key::<K>(key.borrow()), bytes.as_ref())
                    .map(|old| old.map(Guard::Bytes))
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove<'k>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Guard<'_, V>>, StoreError> {
        match self {
            Table::Redb(t) => Ok(t.remove(key)?.map(Guard::Redb)),
            Table::Postgres(t, _) => t
                .remove(&encode_key::<K>(key.borrow()))
                .map(|old| old.map(Guard::Bytes)),
        }
    }

    /// Keeps only the rows for which `keep` is true.
    pub fn retain(
        &mut self,
        mut keep: impl for<'a> FnMut(K::SelfType<'a>, V::SelfType<'a>) -> bool,
    ) -> Result<(), StoreError> {
        match self {
            Table::Redb(t) => Ok(t.retain(keep)?),
            Table::Postgres(t, _) => {
                let mut doomed = Vec::new();
                for row in PgRows::<K, V>::new(t, Bound::Unbounded, Bound::Unbounded) {
                    let (k, v) = row?;
                    if !keep(k.value(), v.value()) {
                        doomed.push(encode_key::<K>(&k.value()));
                    }
                }
                for k in doomed {
                    t.remove(&k)?;
                }
                Ok(())
            }
        }
    }
}

/// Rows in key order.
pub enum Rows<'a, K: Ordered, V: redb::Value + 'static> {
    /// redb's range.
    Redb(redb::Range<'a, K, V>),
    /// PostgreSQL's, a page at a time.
    Postgres(PgRows<'a, K, V>),
    /// No rows.
    Empty,
}

impl<'a, K: Ordered, V: redb::Value + 'static> Iterator for Rows<'a, K, V> {
    type Item = Result<Row<'a, K, V>, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Redb(r) => r.next().map(redb_row),
            Rows::Postgres(r) => r.next(),
            Rows::Empty => None,
        }
    }
}

impl<K: Ordered, V: redb::Value + 'static> DoubleEndedIterator for Rows<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Redb(r) => r.next_back().map(redb_row),
            Rows::Postgres(r) => r.next_back(),
            Rows::Empty => None,
        }
    }
}

fn pg_row<'a, K: Ordered, V: redb::Value + 'static>(
    k: Vec<u8>,
    v: Vec<u8>,
) -> Result<Row<'a, K, V>, StoreError> {
    let key = decode_key::<K>(&k).ok_or_else(|| StoreError::Ledger {
        reason: "a stored key does not decode".into(),
    })?;
    Ok((KeyGuard::Owned(key), Guard::Bytes(v)))
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL.

/// How a PostgreSQL failure is reported: the step and PostgreSQL's code and message, which name
/// constraints and relations, never the values of a row.
pub(crate) fn pg_error(during: &'static str) -> impl Fn(postgres::Error) -> StoreError {
    move |e| StoreError::Postgres {
        during,
        reason: match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None if e.is_closed() => "the connection is closed".into(),
            None => e.to_string(),
        },
    }
}

/// A PostgreSQL database: a pool of connections to one server.
#[derive(Clone)]
pub struct Postgres(Arc<PgPool>);

struct PgPool {
    config: postgres::Config,
    idle: Mutex<Vec<Conn>>,
    slots: Arc<Slots>,
    /// Where the server is, without its password, for messages.
    place: String,
}

/// The connections a process keeps open at most: its share of the server's
/// `max_connections` (100 by default), so that a few replicas and the command line fit.
pub const MAX_CONNECTIONS: usize = 24;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;

/// How long a transaction waits for a connection when all are in use.
const CONNECTION_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Open connections, counted: each [`Conn`] holds one slot until it is dropped.
#[derive(Default)]
struct Slots {
    open: Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Slots {
    /// Takes a slot, waiting up to [`CONNECTION_WAIT`] for one to be freed.
    fn take(&self) -> Result<(), StoreError> {
        let busy = || StoreError::Postgres {
            during: "waiting for a connection",
            reason: format!("all {MAX_CONNECTIONS} connections stayed in use"),
        };
        let mut open = self.open.lock().map_err(|_| busy())?;
        let deadline = std::time::Instant::now() + CONNECTION_WAIT;
        while *open >= MAX_CONNECTIONS {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(busy());
            }
            open = blocking(|| self.freed.wait_timeout(open, left))
                .map_err(|_| busy())?
                .0;
        }
        *open += 1;
        Ok(())
    }

    fn give_back(&self) {
        if let Ok(mut open) = self.open.lock() {
            *open = open.saturating_sub(1);
        }
        self.freed.notify_one();
    }
}

/// Runs a call of the synchronous PostgreSQL client, which drives its own small runtime: on a
/// worker of the service's runtime that would panic, so there the worker is first handed back
/// to the runtime (`block_in_place`) for the length of the call.
fn blocking<T>(call: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(call)
        }
        _ => call(),
    }
}

struct Conn {
    /// Always `Some` until dropped (taken so that closing it runs through [`blocking`]).
    client: Option<postgres::Client>,
    /// A finished read left its (read-only) transaction open, and when: the next transaction
    /// on this connection ends it in the same message that begins itself, which saves a read
    /// a round trip. The pool's sweeper ends it if the connection stays idle, so that no
    /// snapshot is held for long (it would hold back vacuum).
    open_read: Option<std::time::Instant>,
    prepared: HashMap<&'static str, postgres::Statement>,
    /// The pool's count of open connections, which this one leaves when dropped.
    slots: Arc<Slots>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            blocking(move || drop(client));
        }
        self.slots.give_back();
    }
}

impl Conn {
    fn open(config: &postgres::Config, slots: &Arc<Slots>) -> Result<Conn, StoreError> {
        slots.take()?;
        match blocking(|| config.connect(postgres::NoTls)) {
            Ok(client) => Ok(Conn {
                client: Some(client),
                open_read: None,
                prepared: HashMap::new(),
                slots: Arc::clone(slots),
            }),
            Err(e) => {
                slots.give_back();
                Err(pg_error("connecting")(e))
            }
        }
    }

    fn client(&mut self) -> Result<&mut postgres::Client, StoreError> {
        self.client.as_mut().ok_or(StoreError::Postgres {
            during: "using a connection",
            reason: "the connection is closed".into(),
        })
    }

    fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(|c| c.is_closed())
    }

    fn statement(&mut self, sql: &'static str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let client = self.client()?;
        let s = blocking(|| client.prepare(sql)).map_err(pg_error("preparing a statement"))?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        during: &'static str,
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let s = self.statement(sql)?;
        let client = self.client()?;
        blocking(|| client.query(&s, params)).map_err(pg_error(during))
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        during: &'static str,
    ) -> Result<u64, StoreError> {
        let s = self.statement(sql)?;
        let client = self.client()?;
        blocking(|| client.execute(&s, params)).map_err(pg_error(during))
    }

    /// Statements without parameters (transaction control, migrations).
    fn batch(&mut self, sql: &'static str, during: &'static str) -> Result<(), StoreError> {
        let client = self.client()?;
        blocking(|| client.batch_execute(sql)).map_err(pg_error(during))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Read,
    Write,
}

const MIGRATIONS: [&str; 1] = ["
    CREATE TABLE dossier_kv (
        tbl text COLLATE \"C\" NOT NULL,
        k bytea NOT NULL,
        v bytea NOT NULL,
        PRIMARY KEY (tbl, k)
    );
    CREATE TABLE dossier_kv_len (
        tbl text COLLATE \"C\" PRIMARY KEY,
        n bigint NOT NULL CHECK (n >= 0)
    );
"];

impl Postgres {
    /// Connects to the server at `url` (`postgres://user@host:port/db` or
    /// `postgresql:///db?host=/socket/dir`) and brings its schema to this build's version,
    /// refusing a newer one.
    pub fn connect(url: &str) -> Result<Postgres, StoreError> {
        let config: postgres::Config = url.parse().map_err(|_| StoreError::Refused {
            reason: "the database URL is not a PostgreSQL connection string".into(),
        })?;
        let place = describe(&config);
        let pg = Postgres(Arc::new(PgPool {
            config,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Slots::default()),
            place,
        }));
        pg.migrate()?;
        let pool = Arc::downgrade(&pg.0);
        std::thread::Builder::new()
            .name("dossier-pg-sweeper".into())
            .spawn(move || sweep(pool))
            .map_err(|_| StoreError::Postgres {
                during: "connecting",
                reason: "cannot start the pool's sweeper thread".into(),
            })?;
        Ok(pg)
    }

    /// Where the server is (host, port, database; never a password).
    pub fn place(&self) -> &str {
        &self.0.place
    }

    fn connection(&self) -> Result<Conn, StoreError> {
        let reused = self.0.idle.lock().ok().and_then(|mut idle| idle.pop());
        match reused {
            Some(c) if !c.is_closed() => Ok(c),
            // A closed idle connection is dropped here, freeing its slot first.
            closed => {
                drop(closed);
                Conn::open(&self.0.config, &self.0.slots)
            }
        }
    }

    fn release(&self, conn: Conn) {
        if conn.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.0.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }

    fn begin(&self, mode: Mode) -> Result<PgTxn, StoreError> {
        let mut conn = self.connection()?;
        let end_previous = conn.open_read.take().is_some();
        match (mode, end_previous) {
            (Mode::Read, false) => conn.batch(BEGIN_READ, "beginning a read")?,
            (Mode::Read, true) => conn.batch(BEGIN_READ_AFTER_READ, "beginning a read")?,
            (Mode::Write, false) => conn.batch(BEGIN_WRITE, "beginning a write")?,
            (Mode::Write, true) => conn.batch(BEGIN_WRITE_AFTER_READ, "beginning a write")?,
        }
        Ok(PgTxn {
            mode,
            pool: self.clone(),
            conn: RefCell::new(Some(conn)),
            lengths: RefCell::new(HashMap::new()),
            known: RefCell::new(HashMap::new()),
            dirty: RefCell::new(HashMap::new()),
        })
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let txn = self.begin(Mode::Write)?;
        txn.with(|c| {
            c.batch(
                "CREATE TABLE IF NOT EXISTS dossier_schema (version integer NOT NULL)",
                "creating the schema table",
            )
        })?;
        let rows = txn.with(|c| {
            c.query(
                "SELECT version FROM dossier_schema",
                &[],
                "reading the schema version",
            )
        })?;
        let version: i32 = rows.first().map(|r| r.get(0)).unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::Refused {
                reason: format!(
                    "the database's schema is version {version}, newer than this dossier's ({SCHEMA_VERSION}): upgrade dossier"
                ),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tracing::info!(version = i + 1, "migrating the PostgreSQL schema");
            txn.with(|c| c.batch(sql, "migrating"))?;
        }
        if version < SCHEMA_VERSION {
            txn.with(|c| {
                c.execute("DELETE FROM dossier_schema", &[], "migrating")?;
                c.execute(
                    "INSERT INTO dossier_schema (version) VALUES ($1)",
                    &[&SCHEMA_VERSION],
                    "migrating",
                )
            })?;
        }
        txn.commit()
    }
}

/// Ends the transactions that finished reads left open on idle connections for longer than
/// [`OPEN_READ_LIMIT`], until the pool is dropped.
fn sweep(pool: std::sync::Weak<PgPool>) {
    loop {
        std::thread::sleep(OPEN_READ_LIMIT / 2);
        let Some(pool) = pool.upgrade() else { return };
        let stale: Vec<Conn> = {
            let Ok(mut idle) = pool.idle.lock() else {
                return;
            };
            let (stale, fresh) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|c| c.open_read.is_some_and(|t| t.elapsed() >= OPEN_READ_LIMIT));
            *idle = fresh;
            stale
        };
        for mut conn in stale {
            conn.open_read = None;
            // A connection that cannot is dropped, which ends its transaction on the server.
            if conn.batch("ROLLBACK", "ending an idle read").is_ok() {
                Postgres(Arc::clone(&pool)).release(conn);
            }
        }
    }
}

fn describe(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(dir) => dir.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or_default();
    format!("postgres://{host}:{port}/{db}")
}

/// What a transaction knows of one table's rows, by the encoding of their keys (`None`:
/// absent).
type KnownRows = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// One table's writes not yet sent: rows set (keys and values, in step) and rows removed.
#[derive(Default)]
struct Pending {
    keys: Vec<Vec<u8>>,
    values: Vec<Vec<u8>>,
    removed: Vec<Vec<u8>>,
}

/// Rows per statement when a transaction's writes are sent (bounds one message's size).
const FLUSH_CHUNK: usize = 8192;

/// A PostgreSQL transaction on one pooled connection; dropped without commit, it rolls back.
///
/// Round trips, not PostgreSQL, bound a transaction's speed, so it keeps what it knows of rows
/// (`known`: read from the server, or written here) and sends its writes in batches: before
/// any ordered read (a range, an iteration, the first or last row) and at commit. Callers that
/// know which rows they will touch (a registry's nodes level by level, a path's siblings, the
/// ledger's next hashes) read them in one round trip with `prefetch`.
pub struct PgTxn {
    mode: Mode,
    pool: Postgres,
    conn: RefCell<Option<Conn>>,
    /// Rows added (or removed) per table in this transaction, written at commit.
    lengths: RefCell<HashMap<&'static str, i64>>,
    /// Rows as this transaction sees them, per table.
    known: RefCell<HashMap<&'static str, KnownRows>>,
    /// Keys of the rows written here and not yet sent to the server, per table.
    dirty: RefCell<HashMap<&'static str, std::collections::BTreeSet<Vec<u8>>>>,
}

impl PgTxn {
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut slot = self.conn.borrow_mut();
        let conn = slot.as_mut().ok_or(StoreError::Postgres {
            during: "using a transaction",
            reason: "the transaction has ended".into(),
        })?;
        f(conn)
    }

    fn count(&self, table: &'static str, delta: i64) {
        *self.lengths.borrow_mut().entry(table).or_insert(0) += delta;
    }

    /// Sends the writes not yet sent: upserts and deletes, a batch per table.
    fn flush(&self) -> Result<(), StoreError> {
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        if dirty.is_empty() {
            return Ok(());
        }
        let mut by_table: HashMap<&'static str, Pending> = HashMap::new();
        {
            let known = self.known.borrow();
            for (table, keys) in dirty {
                let rows = known.get(table);
                let pending = by_table.entry(table).or_default();
                for k in keys {
                    match rows.and_then(|r| r.get(&k)) {
                        Some(Some(v)) => {
                            pending.keys.push(k);
                            pending.values.push(v.clone());
                        }
                        _ => pending.removed.push(k),
                    }
                }
            }
        }
        self.with(|c| {
            for (
                table,
                Pending {
                    keys,
                    values,
                    removed,
                },
            ) in by_table
            {
                for (k, v) in keys.chunks(FLUSH_CHUNK).zip(values.chunks(FLUSH_CHUNK)) {
                    c.execute(
                        "INSERT INTO dossier_kv (tbl, k, v)
                         SELECT $1, u.k, u.v FROM unnest($2::bytea[], $3::bytea[]) AS u(k, v)
                         ON CONFLICT (tbl, k) DO UPDATE SET v = EXCLUDED.v",
                        &[&table, &k, &v],
                        "writing rows",
                    )?;
                }
                for k in removed.chunks(FLUSH_CHUNK) {
                    c.execute(
                        "DELETE FROM dossier_kv WHERE tbl = $1 AND k = ANY($2)",
                        &[&table, &k],
                        "removing rows",
                    )?;
                }
            }
            Ok(())
        })
    }

    fn commit(self) -> Result<(), StoreError> {
        self.flush()?;
        let lengths: Vec<(&'static str, i64)> = self.lengths.borrow_mut().drain().collect();
        self.with(|c| {
            for (table, delta) in lengths.into_iter().filter(|(_, d)| *d != 0) {
                // Writers hold the advisory lock: the update-or-insert is not a race. (An
                // upsert would check `n >= 0` on a negative delta before finding the row.)
                let updated = c.execute(
                    "UPDATE dossier_kv_len SET n = n + $2 WHERE tbl = $1",
                    &[&table, &delta],
                    "counting rows",
                )?;
                if updated == 0 {
                    c.execute(
                        "INSERT INTO dossier_kv_len (tbl, n) VALUES ($1, $2)",
                        &[&table, &delta],
                        "counting rows",
                    )?;
                }
            }
            c.batch("COMMIT", "committing")
        })?;
        self.finish();
        Ok(())
    }

    /// Reads the rows of `wanted` (table, key) this transaction does not know yet, in one
    /// round trip.
    fn prefetch(&self, mut wanted: Vec<(&'static str, Vec<u8>)>) -> Result<(), StoreError> {
        // A registry update names its upper nodes once per leaf: de-duplicate before looking.
        wanted.sort_unstable();
        wanted.dedup();
        wanted.retain(|(table, k)| {
            !self
                .known
                .borrow()
                .get(table)
                .is_some_and(|rows| rows.contains_key(k))
        });
        for chunk in wanted.chunks(FLUSH_CHUNK) {
            // The chunk is sorted by table: its distinct names, to map a row's back to one.
            let mut names: Vec<&'static str> = chunk.iter().map(|(t, _)| *t).collect();
            names.dedup();
            let keys: Vec<&[u8]> = chunk.iter().map(|(_, k)| k.as_slice()).collect();
            let rows: Vec<(String, Vec<u8>, Vec<u8>)> = self.with(|c| match names.as_slice() {
                // One table (a registry update, a proof's hashes): its name sent once.
                [name] => c
                    .query(
                        "SELECT tbl, k, v FROM dossier_kv WHERE tbl = $1 AND k = ANY($2)",
                        &[name, &keys],
                        "reading rows",
                    )
                    .map(|rows| {
                        rows.iter()
                            .map(|r| (r.get(0), r.get(1), r.get(2)))
                            .collect()
                    }),
                _ => {
                    let tables: Vec<&str> = chunk.iter().map(|(t, _)| *t).collect();
                    c.query(
                        "SELECT d.tbl, d.k, d.v
                         FROM unnest($1::text[], $2::bytea[]) AS u(tbl, k)
                         JOIN dossier_kv d ON d.tbl = u.tbl COLLATE \"C\" AND d.k = u.k",
                        &[&tables, &keys],
                        "reading rows",
                    )
                    .map(|rows| {
                        rows.iter()
                            .map(|r| (r.get(0), r.get(1), r.get(2)))
                            .collect()
                    })
                }
            })?;
            let mut known = self.known.borrow_mut();
            for (table, k) in chunk {
                known.entry(table).or_default().insert(k.clone(), None);
            }
            for (table, k, v) in rows {
                if let Some(name) = names.iter().find(|n| **n == table) {
                    known.entry(name).or_default().insert(k, Some(v));
                }
            }
        }
        Ok(())
    }

    fn finish(&self) {
        if let Some(conn) = self.conn.borrow_mut().take() {
            self.pool.release(conn);
        }
    }
}

impl Drop for PgTxn {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.get_mut().take() {
            if self.mode == Mode::Read {
                // A read wrote nothing: its transaction is ended by the connection's next
                // one, or by the sweeper (see `Conn::open_read`).
                conn.open_read = Some(std::time::Instant::now());
                self.pool.release(conn);
                return;
            }
            // An unfinished write: roll it back (releasing the writers' lock) before the
            // connection is reused; a connection that cannot is closed, which rolls back on
            // the server.
            if conn.batch("ROLLBACK", "rolling back").is_ok() {
                self.pool.release(conn);
            }
        }
    }
}

/// A row as PostgreSQL returns it: the key's order-preserving encoding and redb's encoding of
/// the value.
type RawRow = (Vec<u8>, Vec<u8>);

/// A table inside a PostgreSQL transaction.
pub struct PgTable<'t> {
    txn: &'t PgTxn,
    name: &'static str,
}

impl<'t> PgTable<'t> {
    fn new(txn: &'t PgTxn, name: &'static str) -> Self {
        PgTable { txn, name }
    }

    /// The value this transaction knows for `k`, if it knows the row.
    fn known(&self, k: &[u8]) -> Option<Option<Vec<u8>>> {
        self.txn.known.borrow().get(self.name)?.get(k).cloned()
    }

    fn remember(&self, k: Vec<u8>, v: Option<Vec<u8>>) {
        self.txn
            .known
            .borrow_mut()
            .entry(self.name)
            .or_default()
            .insert(k, v);
    }

    fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.known(k) {
            return Ok(v);
        }
        let rows = self.txn.with(|c| {
            c.query(
                "SELECT v FROM dossier_kv WHERE tbl = $1 AND k = $2",
                &[&self.name, &k],
                "reading a row",
            )
        })?;
        let v: Option<Vec<u8>> = rows.first().map(|r| r.get(0));
        self.remember(k.to_vec(), v.clone());
        Ok(v)
    }

    /// Reads the rows of `keys` this transaction does not know yet, in one round trip.
    fn prefetch(&self, keys: Vec<Vec<u8>>) -> Result<(), StoreError> {
        self.txn
            .prefetch(keys.into_iter().map(|k| (self.name, k)).collect())
    }

    fn write(&self, k: &[u8], v: Option<&[u8]>) -> Result<Option<Vec<u8>>, StoreError> {
        let old = self.get(k)?;
        match (&old, v) {
            (None, Some(_)) => self.txn.count(self.name, 1),
            (Some(_), None) => self.txn.count(self.name, -1),
            _ => {}
        }
        if old.is_none() && v.is_none() {
            return Ok(None);
        }
        self.remember(k.to_vec(), v.map(<[u8]>::to_vec));
        self.txn
            .dirty
            .borrow_mut()
            .entry(self.name)
            .or_default()
            .insert(k.to_vec());
        Ok(old)
    }

    fn insert(&self, k: &[u8], v: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.write(k, Some(v))
    }

    fn remove(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.write(k, None)
    }

    fn len(&self) -> Result<u64, StoreError> {
        let rows = self.txn.with(|c| {
            c.query(
                "SELECT n FROM dossier_kv_len WHERE tbl = $1",
                &[&self.name],
                "counting rows",
            )
        })?;
        let stored: i64 = rows.first().map(|r| r.get(0)).unwrap_or(0);
        let pending = self
            .txn
            .lengths
            .borrow()
            .get(self.name)
            .copied()
            .unwrap_or(0);
        u64::try_from(stored + pending).map_err(|_| StoreError::Ledger {
            reason: format!("table {} has a negative row count", self.name),
        })
    }

    /// The first (`last` false) or last row.
    fn end(&self, last: bool) -> Result<Option<RawRow>, StoreError> {
        let sql = if last {
            "SELECT k, v FROM dossier_kv WHERE tbl = $1 ORDER BY k DESC LIMIT 1"
        } else {
            "SELECT k, v FROM dossier_kv WHERE tbl = $1 ORDER BY k LIMIT 1"
        };
        self.txn.flush()?;
        let rows = self
            .txn
            .with(|c| c.query(sql, &[&self.name], "reading a row"))?;
        Ok(rows.first().map(|r| (r.get(0), r.get(1))))
    }

    /// Up to [`PAGE`] rows between the bounds, from the low end (`back` false) or the high end.
    fn page(
        &self,
        low: &Bound<Vec<u8>>,
        high: &Bound<Vec<u8>>,
        back: bool,
    ) -> Result<Vec<RawRow>, StoreError> {
        const EMPTY: &[u8] = &[];
        let (low_incl, low_key) = match low {
            Bound::Included(k) => (true, k.as_slice()),
            Bound::Excluded(k) => (false, k.as_slice()),
            Bound::Unbounded => (true, EMPTY),
        };
        let sql = match (low_incl, high, back) {
            (true, Bound::Unbounded, false) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k >= $2 ORDER BY k LIMIT $3",
            (false, Bound::Unbounded, false) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k > $2 ORDER BY k LIMIT $3",
            (true, Bound::Included(_), false) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k >= $2 AND k <= $4 ORDER BY k LIMIT $3",
            (false, Bound::Included(_), false) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k > $2 AND k <= $4 ORDER BY k LIMIT $3",
            (true, Bound::Excluded(_), false) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k >= $2 AND k < $4 ORDER BY k LIMIT $3",
            (false, Bound::Excluded(_), false) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k > $2 AND k < $4 ORDER BY k LIMIT $3",
            (true, Bound::Unbounded, true) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k >= $2 ORDER BY k DESC LIMIT $3",
            (false, Bound::Unbounded, true) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k > $2 ORDER BY k DESC LIMIT $3",
            (true, Bound::Included(_), true) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k >= $2 AND k <= $4 ORDER BY k DESC LIMIT $3",
            (false, Bound::Included(_), true) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k > $2 AND k <= $4 ORDER BY k DESC LIMIT $3",
            (true, Bound::Excluded(_), true) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k >= $2 AND k < $4 ORDER BY k DESC LIMIT $3",
            (false, Bound::Excluded(_), true) => "SELECT k, v FROM dossier_kv WHERE tbl = $1 AND k > $2 AND k < $4 ORDER BY k DESC LIMIT $3",
        };
        self.txn.flush()?;
        let rows = self.txn.with(|c| match high {
            Bound::Included(h) | Bound::Excluded(h) => c.query(
                sql,
                &[&self.name, &low_key, &PAGE, &h.as_slice()],
                "reading rows",
            ),
            Bound::Unbounded => c.query(sql, &[&self.name, &low_key, &PAGE], "reading rows"),
        })?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// A PostgreSQL table's rows between two bounds, fetched a page at a time from either end.
pub struct PgRows<'a, K: Ordered, V: redb::Value + 'static> {
    table: PgTable<'a>,
    low: Bound<Vec<u8>>,
    high: Bound<Vec<u8>>,
    front: VecDeque<RawRow>,
    back: VecDeque<RawRow>,
    done: bool,
    types: PhantomData<(K, V)>,
}

impl<'a, K: Ordered, V: redb::Value + 'static> PgRows<'a, K, V> {
    fn new(table: &PgTable<'a>, low: Bound<Vec<u8>>, high: Bound<Vec<u8>>) -> Self {
        PgRows {
            table: PgTable::new(table.txn, table.name),
            low,
            high,
            front: VecDeque::new(),
            back: VecDeque::new(),
            done: false,
            types: PhantomData,
        }
    }

    fn pop(&mut self, from_back: bool) -> Option<Result<Row<'a, K, V>, StoreError>> {
        let ready = if from_back { &self.back } else { &self.front };
        if ready.is_empty() && !self.done {
            match self.table.page(&self.low, &self.high, from_back) {
                Ok(page) => {
                    if (page.len() as i64) < PAGE {
                        // Everything left between the bounds is in this page.
                        self.done = true;
                    }
                    // Narrow the bounds past what was fetched, so neither end sees a row twice.
                    if let Some((k, _)) = page.last() {
                        if from_back {
                            self.high = Bound::Excluded(k.clone());
                        } else {
                            self.low = Bound::Excluded(k.clone());
                        }
                    }
                    if from_back {
                        self.back.extend(page);
                    } else {
                        self.front.extend(page);
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let next = if from_back {
            self.back.pop_front().or_else(|| self.front.pop_back())
        } else {
            self.front.pop_front().or_else(|| self.back.pop_back())
        }?;
        Some(pg_row(next.0, next.1))
    }
}

impl<'a, K: Ordered, V: redb::Value + 'static> Iterator for PgRows<'a, K, V> {
    type Item = Result<Row<'a, K, V>, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.pop(false)
    }
}

impl<K: Ordered, V: redb::Value + 'static> DoubleEndedIterator for PgRows<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.pop(true)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_writers_lock_in_the_begin_message_is_writer_lock() {
        let n = WRITER_LOCK.to_string();
        assert!(BEGIN_WRITE.ends_with(&format!("pg_advisory_xact_lock({n})")));
        assert!(BEGIN_WRITE_AFTER_READ.ends_with(BEGIN_WRITE));
        assert!(BEGIN_READ_AFTER_READ.ends_with(BEGIN_READ));
    }

    use super::*;
    use proptest::prelude::*;

    fn order_preserved<K: Ordered>(a: K::SelfType<'_>, b: K::SelfType<'_>) -> bool {
        let (ea, eb) = (encode_key::<K>(&a), encode_key::<K>(&b));
        let redb_order = K::compare(K::as_bytes(&a).as_ref(), K::as_bytes(&b).as_ref());
        ea.cmp(&eb) == redb_order
    }

    proptest! {
        #[test]
        fn integers_sort_as_redb_sorts(a: u64, b: u64, c: u32, d: u32) {
            prop_assert!(order_preserved::<u64>(a, b));
            prop_assert!(order_preserved::<(u32, u8, u32)>((c, 3, d), (d, 3, c)));
            prop_assert_eq!(decode_key::<(u32, u8, u32)>(&encode_key::<(u32, u8, u32)>(&(c, 7, d))), Some((c, 7, d)));
        }

        #[test]
        fn strings_in_tuples_sort_as_redb_sorts(a in ".{0,6}|\u{0}{0,3}a?", b in ".{0,6}|\u{0}{0,3}", x: u32, y: u32) {
            prop_assert!(order_preserved::<&str>(a.as_str(), b.as_str()));
            prop_assert!(order_preserved::<(&str, u32)>((a.as_str(), x), (b.as_str(), y)));
            prop_assert!(order_preserved::<([u8; 32], u16, &str)>(([1; 32], 2, a.as_str()), ([1; 32], 2, b.as_str())));
            let k = encode_key::<(&str, u32)>(&(a.as_str(), x));
            prop_assert_eq!(decode_key::<(&str, u32)>(&k), Some((a.clone(), x)));
        }
    }

    #[test]
    fn a_key_with_bytes_left_over_or_missing_does_not_decode() {
        let mut k = encode_key::<(u32, u64)>(&(1, 2));
        k.push(0);
        assert_eq!(decode_key::<(u32, u64)>(&k), None);
        assert_eq!(decode_key::<(u32, u64)>(&k[..5]), None);
        // An unescaped zero inside a string element.
        assert_eq!(decode_key::<(&str, u8)>(&[b'a', 0, 1, 0, 0, 9]), None);
    }
}
