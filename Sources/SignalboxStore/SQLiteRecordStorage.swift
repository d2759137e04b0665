import Foundation
import GRDB
import SignalboxCore
import Synchronization

/// The ``RecordStorage`` of `persist`, in its own WAL-mode SQLite file, `records.sqlite` in the data
/// directory: one SQL table per record table, created on the first insert.
///
/// Inserts go through group commit: concurrent ``insert(_:into:)`` calls share one write
/// transaction, and each caller resumes once it has committed. A row whose idempotency key is already
/// in its table is skipped, so a replayed invocation never writes twice. Queries run on the pool's
/// reader connections and never wait for the writer.
///
/// Each table has the columns `seq` (the row id, increasing in insertion order), `idempotency_key`
/// (unique), `message_id`, `rule`, `topic`, `device`, `received_at` and `data` (the JSON document as
/// text), with an index on `received_at`. `seq` is SQLite's row id: the numbers of a table that
/// retention has emptied completely start again from 1.
///
/// The device index is kept apart and built in bulk: once ``deviceIndexBatch`` rows of a table have
/// no entry, a background pass reads them on a reader connection, sorted by device, and inserts
/// their entries into `"{table}:by_device"` (device, received_at, seq) through the group commit,
/// a few thousand at a time (each chunk a short step of the writer, so inserts never wait long
/// behind it); its last chunk moves the table's indexed `seq` in `"signalbox:record_index"`. A pass
/// covers at most four batches, so its memory stays bounded when inserts outrun it.
/// Indexing rows one by one, as they arrive from many devices at once, dirtied one index page per
/// device per transaction; in bulk, each page is written once for many rows (about 2 KB written per
/// row fewer). Queries by device read the index up to the indexed `seq` and scan the unindexed tail
/// after it.
///
/// For example:
/// ```swift
/// let records = try SQLiteRecordStorage(directory: "./data")
/// try await records.insert(rows, into: "temperatures")
/// let latest = try await records.records(in: "temperatures", matching: RecordQuery(device: "fridge-7"))
/// ```
package final class SQLiteRecordStorage: RecordStorage {
    /// The name of the database file inside the data directory.
    package static let fileName = "records.sqlite"

    /// The records file.
    package let path: String
    /// The durability the connections were opened with.
    package let durability: AppDatabase.Durability
    private let pool: DatabasePool
    private let committer: GroupCommitter
    private let knownTables: KnownTables
    private let indexer: DeviceIndexer
    /// How many rows of a table may lack their device-index entry before they are indexed together.
    package let deviceIndexBatch: Int

    /// Opens (creating if needed) the records file in `directory`.
    ///
    /// - Parameters:
    ///   - directory: The data directory; created with its parents if missing.
    ///   - durability: How hard a commit tries to reach the disk.
    ///   - maxBatchSize: The most ``insert(_:into:)`` calls one write transaction applies.
    ///   - deviceIndexBatch: How many rows of a table are indexed by device together (at least 1).
    /// - Throws: ``StoreError`` when the directory can't be created, or a `DatabaseError` when the
    ///   file can't be opened.
    package init(
        directory: String, durability: AppDatabase.Durability = .normal, maxBatchSize: Int = 64,
        deviceIndexBatch: Int = 65_536
    ) throws {
        let path = try AppDatabase.path(of: Self.fileName, in: directory)
        self.path = path
        self.durability = durability
        self.deviceIndexBatch = max(1, deviceIndexBatch)
        let pool = try DatabasePool(path: path, configuration: Self.configuration(durability: durability))
        try AppDatabase.makePrivate((path as NSString).deletingLastPathComponent)
        self.pool = pool
        let knownTables = KnownTables()
        self.knownTables = knownTables
        let checkpointer = try? BackgroundCheckpointer(path: path)
        let committer = GroupCommitter(
            pool: pool, maxBatchSize: maxBatchSize, onCommit: { checkpointer?.nudge() },
            onRollback: { knownTables.removeAll() })
        self.committer = committer
        self.indexer = DeviceIndexer(pool: pool, committer: committer)
    }

    /// Closes every connection. Pending inserts must have finished; later calls fail.
    package func close() throws {
        try pool.close()
    }

    /// Waits until no device-index pass is running.
    package func waitForIndexing() async {
        await indexer.waitUntilIdle()
    }

    /// - Throws: ``InvalidRecordTableName`` when `table` is not a valid name (nothing is written).
    package func insert(_ rows: [RecordRow], into table: String) async throws {
        try Self.validate(table)
        // An empty insert still creates the table, as the in-memory storage does: its first use.
        try await withCheckedThrowingContinuation { continuation in
            committer.submit(
                InsertJob(
                    table: table, rows: rows, knownTables: knownTables, indexer: indexer,
                    indexBatch: deviceIndexBatch, continuation: continuation))
        }
    }

    /// - Throws: ``InvalidRecordTableName`` when `table` is not a valid name.
    package func records(in table: String, matching query: RecordQuery) async throws -> [StoredRecord] {
        try Self.validate(table)
        guard query.limit > 0 else { return [] }
        let after = query.after ?? Int64.min
        return try await pool.read { db in
            guard try Self.tableExists(table, db) else { return [] }
            guard let device = query.device else {
                return try Self.select(table, after: after, query: query, limit: query.limit, db)
            }
            // The indexed rows first (their seq are all lower), then the unindexed tail. A table from
            // before the bulk index, not written since, has none: all of it is tail (and has its old index).
            let indexed =
                try Self.tableExists("\(table):by_device", db) ? Self.indexedThrough(table, db) : Int64.min
            var records: [StoredRecord] = []
            if indexed > after {
                records = try Self.selectIndexed(
                    table, device: device, after: after, through: indexed, query: query, db)
            }
            if records.count < query.limit {
                records += try Self.select(
                    table, after: max(after, indexed), query: query, limit: query.limit - records.count, db)
            }
            return records
        }
    }

    /// The rows of `table` after `after` matching `query` (its device included), oldest first.
    private static func select(_ table: String, after: Int64, query: RecordQuery, limit: Int, _ db: Database) throws
        -> [StoredRecord]
    {
        var conditions = ["seq > ?"]
        var values: [any DatabaseValueConvertible & Sendable] = [after]
        if let device = query.device {
            conditions.append("device = ?")
            values.append(device)
        }
        appendTimeRange(query, column: "received_at", to: &conditions, &values)
        values.append(limit)
        let sql = """
            SELECT \(columns) FROM "\(table)" WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?
            """
        return try fetch(sql, StatementArguments(values), db)
    }

    /// The rows of `device` in `table` with `after < seq ≤ through`, through the device index.
    private static func selectIndexed(
        _ table: String, device: String, after: Int64, through: Int64, query: RecordQuery, _ db: Database
    ) throws -> [StoredRecord] {
        var conditions = ["d.device = ?", "d.seq > ?", "d.seq <= ?"]
        var values: [any DatabaseValueConvertible & Sendable] = [device, after, through]
        appendTimeRange(query, column: "d.received_at", to: &conditions, &values)
        values.append(query.limit)
        let prefixed = columns.split(separator: ", ").map { "r.\($0)" }.joined(separator: ", ")
        let sql = """
            SELECT \(prefixed) FROM "\(table):by_device" d CROSS JOIN "\(table)" r ON r.seq = d.seq
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY d.seq LIMIT ?
            """
        return try fetch(sql, StatementArguments(values), db)
    }

    private static let columns = "seq, idempotency_key, message_id, rule, topic, device, received_at, data"

    private static func appendTimeRange(
        _ query: RecordQuery, column: String, to conditions: inout [String],
        _ values: inout [any DatabaseValueConvertible & Sendable]
    ) {
        if let since = query.since {
            conditions.append("\(column) >= ?")
            values.append(since)
        }
        if let until = query.until {
            conditions.append("\(column) < ?")
            values.append(until)
        }
    }

    private static func fetch(_ sql: String, _ arguments: StatementArguments, _ db: Database) throws
        -> [StoredRecord]
    {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var records: [StoredRecord] = []
        while let row = try rows.next() {
            records.append(try decode(row))
        }
        return records
    }

    package func tables() async throws -> [String] {
        try await pool.read { db in
            // Record table names have no ':', unlike the device indexes and the index state.
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                    AND instr(name, ':') = 0 ORDER BY name
                    """)
        }
    }

    /// - Throws: ``InvalidRecordTableName`` when `table` is not a valid name.
    package func deleteRecords(in table: String, receivedBefore cutoff: Int64) async throws -> Int {
        try Self.validate(table)
        return try await pool.write { db in
            guard try Self.tableExists(table, db) else { return 0 }
            // The device index first, one range per device that has rows to delete.
            if try Self.tableExists("\(table):by_device", db) {
                let devices = try String.fetchAll(
                    db, sql: #"SELECT DISTINCT device FROM "\#(table)" WHERE received_at < ?"#, arguments: [cutoff])
                let delete = try db.cachedStatement(
                    sql: #"DELETE FROM "\#(table):by_device" WHERE device = ? AND received_at < ?"#)
                for device in devices { try delete.execute(arguments: [device, cutoff]) }
            }
            try db.execute(sql: #"DELETE FROM "\#(table)" WHERE received_at < ?"#, arguments: [cutoff])
            return db.changesCount
        }
    }
}

/// A record table name that ``SQLiteRecordStorage`` refuses.
package struct InvalidRecordTableName: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name refused.
    package var name: String

    /// The error for `name`.
    package init(name: String) {
        self.name = name
    }

    package var description: String {
        "'\(name)' is not a valid record table name: use 1 to 63 lowercase letters, digits and underscores, "
            + "starting with a letter and not with 'sqlite_'"
    }
}

// MARK: - Tables

extension SQLiteRecordStorage {
    /// The connection settings for `durability`.
    static func configuration(durability: AppDatabase.Durability) -> Configuration {
        // 32 KB pages: with the device index built in bulk, inserts append to the end of each B-tree,
        // and larger pages mean fewer WAL frames and write calls per row. Mean of 30 s throughput
        // runs (docs/benchmarks.md): 4 KB 134,500 msg/s (5 runs), 16 KB 146,500 (5), 32 KB 150,900
        // (7), 64 KB 140,000 (2). The cost: a small commit writes whole pages, so at a few rows per
        // commit ~22 KB are written per row instead of ~8 KB. Takes effect when the file is created.
        Configuration.signalbox(
            label: "signalbox.records", durability: durability, readers: 4,
            pragmas: [
                "PRAGMA page_size = 32768",
                "PRAGMA mmap_size = 268435456",
                // The background checkpointer copies the WAL back as it grows; the writer's own checkpoint,
                // the backstop that resets the WAL, waits for ~120 MB.
                "PRAGMA wal_autocheckpoint = 3750",
            ],
            writerPragmas: ["PRAGMA cache_size = -65536"])
    }

    private static func validate(_ table: String) throws {
        guard RecordTableName.isValid(table) else { throw InvalidRecordTableName(name: table) }
    }

    static func tableExists(_ table: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)"),
            arguments: [table]) ?? false
    }

    /// Creates `table`, its indexes and its index state unless they exist; a table from before the
    /// bulk device index loses its per-row device index and gets the bulk one, filled. The names of
    /// the index and the state hold a character table names can't, so they never collide with a table.
    static func createTable(_ table: String, _ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS "\(table)" (
                    seq INTEGER PRIMARY KEY,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    message_id INTEGER,
                    rule TEXT,
                    topic TEXT,
                    device TEXT,
                    received_at INTEGER,
                    data TEXT
                );
                CREATE INDEX IF NOT EXISTS "\(table):received_at" ON "\(table)" (received_at);
                CREATE TABLE IF NOT EXISTS "\(table):by_device" (
                    device TEXT, received_at INTEGER, seq INTEGER, PRIMARY KEY (device, received_at, seq)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS "signalbox:record_index" (
                    name TEXT PRIMARY KEY, indexed_through INTEGER NOT NULL
                ) WITHOUT ROWID;
                INSERT OR IGNORE INTO "signalbox:record_index" (name, indexed_through) VALUES ('\(table)', 0);
                """)
        let legacy = try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?)",
            arguments: ["\(table):device"])
        if legacy == true {
            try db.execute(sql: #"DROP INDEX "\#(table):device""#)
            try indexByDevice(table, db)
        }
    }

    /// The highest `seq` of `table` with its device-index entry; 0 when none has one.
    static func indexedThrough(_ table: String, _ db: Database) throws -> Int64 {
        guard try tableExists("signalbox:record_index", db) else { return 0 }
        return try Int64.fetchOne(
            db.cachedStatement(sql: #"SELECT indexed_through FROM "signalbox:record_index" WHERE name = ?"#),
            arguments: [table]) ?? 0
    }

    /// Gives every row of `table` after its indexed `seq` a device-index entry, in index order, at
    /// once (a table from before the bulk index, once).
    static func indexByDevice(_ table: String, _ db: Database) throws {
        let through = try indexedThrough(table, db)
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO "\(table):by_device" (device, received_at, seq)
                SELECT device, received_at, seq FROM "\(table)" WHERE seq > ? ORDER BY device, received_at, seq
                """, arguments: [through])
        try markIndexed(table, through: Int64.max, db)
    }

    /// Records that the rows of `table` up to `through` (at most its last row) have their entries.
    static func markIndexed(_ table: String, through: Int64, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE "signalbox:record_index" SET indexed_through = max(indexed_through,
                    min(?, coalesce((SELECT max(seq) FROM "\(table)"), 0))) WHERE name = ?
                """, arguments: [through, table])
    }

    /// How many rows of `table` have no device-index entry yet.
    static func unindexedCount(_ table: String, _ db: Database) throws -> Int {
        try Int.fetchOne(
            db, sql: #"SELECT count(*) FROM "\#(table)" WHERE seq > ?"#, arguments: [indexedThrough(table, db)]) ?? 0
    }

    private static func decode(_ row: Row) throws -> StoredRecord {
        let data = try row.withUnsafeData(atIndex: 7) { data in data.map { [UInt8]($0) } ?? [] }
        let messageID: Int64? = row[2]
        let rule: String? = row[3]
        let topic: String? = row[4]
        let device: String? = row[5]
        let receivedAt: Int64? = row[6]
        return StoredRecord(
            seq: row[0],
            row: RecordRow(
                idempotencyKey: row[1], messageID: messageID ?? 0, rule: rule ?? "", topic: topic ?? "",
                device: device ?? "", receivedAt: receivedAt ?? 0, data: data))
    }
}

/// The tables the writer has created or seen, so inserts skip the `CREATE … IF NOT EXISTS`, with
/// how many of each table's rows have no device-index entry yet and no pass covering them.
///
/// Only the writer queue uses it; when a batch rolls back (undoing its creations), it is emptied.
final class KnownTables: Sendable {
    private let unindexed = Mutex<[String: Int]>([:])

    /// The table's unindexed rows, nil when the table is not known yet.
    func unindexedCount(_ name: String) -> Int? { unindexed.withLock { $0[name] } }
    func set(_ name: String, unindexed count: Int) { unindexed.withLock { $0[name] = count } }
    func removeAll() { unindexed.withLock { $0.removeAll() } }
}

// MARK: - Group commit

/// One ``SQLiteRecordStorage/insert(_:into:)`` call waiting for its batch.
final class InsertJob: GroupCommitJob, Sendable {
    private let table: String
    private let rows: [RecordRow]
    private let knownTables: KnownTables
    private let indexer: DeviceIndexer
    private let indexBatch: Int
    private let continuation: CheckedContinuation<Void, any Error>
    /// The device-index pass to start once this batch has committed.
    private let pass = Mutex<(through: Int64, target: Int64)?>(nil)

    init(
        table: String, rows: [RecordRow], knownTables: KnownTables, indexer: DeviceIndexer, indexBatch: Int,
        continuation: CheckedContinuation<Void, any Error>
    ) {
        self.table = table
        self.rows = rows
        self.knownTables = knownTables
        self.indexer = indexer
        self.indexBatch = indexBatch
        self.continuation = continuation
    }

    func perform(_ db: Database) throws {
        var unindexed: Int
        if let known = knownTables.unindexedCount(table) {
            unindexed = known
        } else {
            try SQLiteRecordStorage.createTable(table, db)
            unindexed = try SQLiteRecordStorage.unindexedCount(table, db)
        }
        // The data is bound as a blob and stored as text byte for byte: no UTF-8 round trip.
        let sql = """
            INSERT OR IGNORE INTO "\(table)" (idempotency_key, message_id, rule, topic, device, received_at, data)
            VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT))
            """
        let statement = try db.cachedStatement(sql: sql)
        for row in rows {
            let insert = HotStatement(statement, in: db)
            try insert.bind(row.idempotencyKey, at: 1)
            try insert.bind(row.messageID, at: 2)
            try insert.bind(row.rule, at: 3)
            try insert.bind(row.topic, at: 4)
            try insert.bind(row.device, at: 5)
            try insert.bind(row.receivedAt, at: 6)
            try insert.bind(blob: row.data, at: 7)
            _ = try insert.step()
        }
        // Skipped rows (a key already there) count too: an overestimate only indexes a little early.
        unindexed += rows.count
        if unindexed >= indexBatch, !indexer.isRunning(table) {
            let through = try SQLiteRecordStorage.indexedThrough(table, db)
            let last = try Int64.fetchOne(db, sql: #"SELECT max(seq) FROM "\#(table)""#) ?? through
            // A pass holds its rows' entries in memory: it covers at most four batches, and the rows
            // beyond count as unindexed still, so a backlog is worked off pass after pass.
            let target = min(last, through + 4 * Int64(indexBatch))
            pass.withLock { $0 = (through, target) }
            unindexed = Int(clamping: last - target)
        }
        knownTables.set(table, unindexed: unindexed)
    }

    func complete(with error: (any Error)?) {
        if let error {
            continuation.resume(throwing: error)
        } else {
            if let pass = pass.withLock({ $0 }) { indexer.start(table, through: pass.through, target: pass.target) }
            continuation.resume()
        }
    }
}
