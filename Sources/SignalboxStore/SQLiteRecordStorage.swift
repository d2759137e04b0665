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
/// text), with indexes on `(device, received_at)` and `(received_at)`. `seq` is SQLite's row id: the
/// numbers of a table that retention has emptied completely start again from 1.
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

    /// Opens (creating if needed) the records file in `directory`.
    ///
    /// - Parameters:
    ///   - directory: The data directory; created with its parents if missing.
    ///   - durability: How hard a commit tries to reach the disk.
    ///   - maxBatchSize: The most ``insert(_:into:)`` calls one write transaction applies.
    /// - Throws: ``StoreError`` when the directory can't be created, or a `DatabaseError` when the
    ///   file can't be opened.
    package init(directory: String, durability: AppDatabase.Durability = .normal, maxBatchSize: Int = 64) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError(
                .cannotOpen,
                "cannot create the data directory '\(directory)': check the path and its permissions",
                cause: error)
        }
        let path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        self.path = path
        self.durability = durability
        let pool = try DatabasePool(path: path, configuration: Self.configuration(durability: durability))
        self.pool = pool
        let knownTables = KnownTables()
        self.knownTables = knownTables
        let checkpointer = try? BackgroundCheckpointer(path: path)
        self.committer = GroupCommitter(
            pool: pool, maxBatchSize: maxBatchSize, onCommit: { checkpointer?.nudge() },
            onRollback: { knownTables.removeAll() })
    }

    /// Closes every connection. Pending inserts must have finished; later calls fail.
    package func close() throws {
        try pool.close()
    }

    /// Whether `name` can name a record table: `[a-z][a-z0-9_]{0,62}`, not starting with `sqlite_`
    /// (SQLite keeps those names for itself).
    package static func isValidTableName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard let first = bytes.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), bytes.count <= 63
        else { return false }
        let valid = bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
        return valid && !name.hasPrefix("sqlite_")
    }

    /// - Throws: ``InvalidRecordTableName`` when `table` is not a valid name (nothing is written).
    package func insert(_ rows: [RecordRow], into table: String) async throws {
        try Self.validate(table)
        // An empty insert still creates the table, as the in-memory storage does: its first use.
        try await withCheckedThrowingContinuation { continuation in
            committer.submit(InsertJob(table: table, rows: rows, knownTables: knownTables, continuation: continuation))
        }
    }

    /// - Throws: ``InvalidRecordTableName`` when `table` is not a valid name.
    package func records(in table: String, matching query: RecordQuery) async throws -> [StoredRecord] {
        try Self.validate(table)
        guard query.limit > 0 else { return [] }
        var conditions = ["seq > ?"]
        var values: [any DatabaseValueConvertible & Sendable] = [query.after ?? Int64.min]
        if let device = query.device {
            conditions.append("device = ?")
            values.append(device)
        }
        if let since = query.since {
            conditions.append("received_at >= ?")
            values.append(since)
        }
        if let until = query.until {
            conditions.append("received_at < ?")
            values.append(until)
        }
        values.append(query.limit)
        let arguments = StatementArguments(values)
        let sql = """
            SELECT seq, idempotency_key, message_id, rule, topic, device, received_at, data FROM "\(table)"
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?
            """
        return try await pool.read { db in
            guard try Self.tableExists(table, db) else { return [] }
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
            var records: [StoredRecord] = []
            while let row = try rows.next() {
                records.append(try Self.decode(row))
            }
            return records
        }
    }

    package func tables() async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                    ORDER BY name
                    """)
        }
    }

    /// - Throws: ``InvalidRecordTableName`` when `table` is not a valid name.
    package func deleteRecords(in table: String, receivedBefore cutoff: Int64) async throws -> Int {
        try Self.validate(table)
        return try await pool.write { db in
            guard try Self.tableExists(table, db) else { return 0 }
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
        // The default 4 KB pages stay: each insert dirties the last leaf of its device's range in the
        // (device, received_at) index, so a commit writes about one page per device it touches.
        // Measured on a table of 1.5 million rows over 1,000 devices, 16 KB pages insert about half
        // as fast as 4 KB; 2 KB gain little.
        Configuration.signalbox(
            label: "signalbox.records", durability: durability, readers: 4,
            pragmas: [
                "PRAGMA mmap_size = 268435456",
                // Those leaves, one per active device, stay in 64 MB of cache.
                "PRAGMA cache_size = -65536",
                // The background checkpointer copies the WAL back as it grows; the writer's own checkpoint,
                // the backstop that resets the WAL, waits for ~120 MB. Each checkpoint copies every active
                // device's leaf again, so fewer of them pay: with 512-row inserts, 30,000 pages doubled the
                // throughput of 2,500 and beat 10,000 by 15-30%.
                "PRAGMA wal_autocheckpoint = 30000",
            ])
    }

    private static func validate(_ table: String) throws {
        guard isValidTableName(table) else { throw InvalidRecordTableName(name: table) }
    }

    static func tableExists(_ table: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)"),
            arguments: [table]) ?? false
    }

    /// Creates `table` and its indexes unless they exist. The index names hold a character table
    /// names can't, so they never collide with a table.
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
                CREATE INDEX IF NOT EXISTS "\(table):device" ON "\(table)" (device, received_at);
                CREATE INDEX IF NOT EXISTS "\(table):received_at" ON "\(table)" (received_at);
                """)
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

/// The tables the writer has created or seen, so inserts skip the `CREATE … IF NOT EXISTS`.
///
/// Only the writer queue uses it; when a batch rolls back (undoing its creations), it is emptied.
private final class KnownTables: Sendable {
    private let names = Mutex<Set<String>>([])

    func contains(_ name: String) -> Bool { names.withLock { $0.contains(name) } }
    func insert(_ name: String) { _ = names.withLock { $0.insert(name) } }
    func removeAll() { names.withLock { $0.removeAll() } }
}

// MARK: - Group commit

/// One ``SQLiteRecordStorage/insert(_:into:)`` call waiting for its batch.
private final class InsertJob: GroupCommitJob, Sendable {
    private let table: String
    private let rows: [RecordRow]
    private let knownTables: KnownTables
    private let continuation: CheckedContinuation<Void, any Error>

    init(
        table: String, rows: [RecordRow], knownTables: KnownTables, continuation: CheckedContinuation<Void, any Error>
    ) {
        self.table = table
        self.rows = rows
        self.knownTables = knownTables
        self.continuation = continuation
    }

    func perform(_ db: Database) throws {
        if !knownTables.contains(table) {
            try SQLiteRecordStorage.createTable(table, db)
            knownTables.insert(table)
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
    }

    func complete(with error: (any Error)?) {
        if let error {
            continuation.resume(throwing: error)
        } else {
            continuation.resume()
        }
    }
}
