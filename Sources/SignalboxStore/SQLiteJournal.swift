import Foundation
import GRDB
import SignalboxCore
import Synchronization

/// The ingest ``MessageJournal`` in its own WAL-mode SQLite file, `journal.sqlite` in the data
/// directory, so journal writes never queue behind shadow writes.
///
/// Appends go through group commit: concurrent ``append(_:)`` calls share one write transaction
/// (and, with durability `full`, one fsync), and each caller resumes once its transaction has
/// committed. ``checkpoint(_:)`` goes through the same writer, so it is ordered with the appends, and
/// trims the entries it covers in the same transaction. Reads run on the pool's reader connections
/// and never wait for the writer.
///
/// An append whose ids collide with stored ones fails on its own (a constraint `DatabaseError`) and
/// stores nothing; the appends sharing its transaction are not affected. Checkpoints only move
/// forward: a lower one is ignored.
///
/// For example:
/// ```swift
/// let journal = try SQLiteJournal(directory: "./data", durability: .normal)
/// try await journal.append([JournalEntry(id: 1, topic: "sensors/7", payload: bytes, receivedAt: now)])
/// let (checkpoint, lastID) = try await journal.state()
/// try await journal.checkpoint(1)
/// ```
package final class SQLiteJournal: MessageJournal, BrokerSessionStore {
    /// The name of the database file inside the data directory.
    package static let fileName = "journal.sqlite"

    /// The journal file.
    package let path: String
    /// The durability the connections were opened with.
    package let durability: AppDatabase.Durability
    private let pool: DatabasePool
    private let committer: GroupCommitter
    /// The stored checkpoint as of the last committed ``checkpoint(_:)``: lower or equal ones are
    /// no-ops and skip the writer.
    private let storedCheckpoint: Mutex<Int64>

    /// Opens (creating if needed) the journal in `directory`.
    ///
    /// - Parameters:
    ///   - directory: The data directory; created with its parents if missing.
    ///   - durability: How hard a commit tries to reach the disk.
    ///   - maxBatchSize: The most ``append(_:)`` and ``checkpoint(_:)`` calls one write transaction
    ///     applies. Appends carry up to a thousand entries each, so the default already makes large
    ///     transactions.
    /// - Throws: ``StoreError`` when the directory can't be created, or a `DatabaseError` when the
    ///   file can't be opened or its schema created.
    package init(directory: String, durability: AppDatabase.Durability = .normal, maxBatchSize: Int = 64) throws {
        let path = try AppDatabase.path(of: Self.fileName, in: directory)
        self.path = path
        self.durability = durability
        let pool = try DatabasePool(path: path, configuration: Self.configuration(durability: durability))
        try Self.migrator.migrate(pool)
        try AppDatabase.makePrivate((path as NSString).deletingLastPathComponent)
        self.pool = pool
        self.storedCheckpoint = Mutex(
            try pool.read { db in try Int64.fetchOne(db, sql: "SELECT checkpoint FROM journal_state") ?? 0 })
        // Without it the writer's automatic checkpoint still copies the WAL back, only on the writer.
        let checkpointer = try? BackgroundCheckpointer(path: path)
        self.committer = GroupCommitter(pool: pool, maxBatchSize: maxBatchSize, onCommit: { checkpointer?.nudge() })
    }

    /// Closes every connection. Pending appends and checkpoints must have finished; later calls fail.
    package func close() throws {
        try pool.close()
    }

    package func append(_ entries: [JournalEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await withCheckedThrowingContinuation { continuation in
            committer.submit(AppendJob(entries: entries, continuation: continuation))
        }
    }

    package func state() async throws -> (checkpoint: Int64, lastID: Int64) {
        try await pool.read { db in
            // `last_id` remembers the highest id of the entries checkpoints dropped.
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT checkpoint, MAX(checkpoint, last_id, IFNULL((SELECT MAX(id) FROM journal), 0))
                        FROM journal_state
                        """))
            guard let row else {
                throw StoreError(
                    .corruptRecord, "the journal has no state row: restore the data directory from a backup")
            }
            return (row[0], row[1])
        }
    }

    package func entries(after: Int64, limit: Int) async throws -> [JournalEntry] {
        guard limit > 0 else { return [] }
        return try await pool.read { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT id, topic, payload, received_at, client_id, gateway FROM journal
                    WHERE id > ? ORDER BY id LIMIT ?
                    """)
            let rows = try Row.fetchCursor(statement, arguments: [after, limit])
            var entries: [JournalEntry] = []
            entries.reserveCapacity(min(limit, 4_096))
            while let row = try rows.next() {
                let payload = try row.withUnsafeData(atIndex: 2) { data in data.map { [UInt8]($0) } ?? [] }
                entries.append(
                    JournalEntry(
                        id: row[0], topic: row[1], payload: payload, receivedAt: row[3], clientID: row[4],
                        gateway: row[5]))
            }
            return entries
        }
    }

    package func brokerReceipts(session: String, limit: Int) async throws -> [UInt16: UInt64] {
        guard limit > 0 else { return [:] }
        return try await pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT packet_id, digest FROM broker_receipts WHERE session = ? ORDER BY entry_id DESC LIMIT ?
                    """, arguments: [session, limit])
            var receipts: [UInt16: UInt64] = [:]
            while let row = try rows.next() {
                guard let packetID = UInt16(exactly: row[0] as Int64) else { continue }
                receipts[packetID] = UInt64(bitPattern: row[1])
            }
            return receipts
        }
    }

    package func checkpoint(_ id: Int64) async throws {
        guard id > storedCheckpoint.withLock({ $0 }) else { return }
        try await withCheckedThrowingContinuation { continuation in
            committer.submit(CheckpointJob(id: id, continuation: continuation))
        }
        storedCheckpoint.withLock { $0 = max($0, id) }
    }
}

// MARK: - Schema

extension SQLiteJournal {
    /// The connection settings for `durability`.
    static func configuration(durability: AppDatabase.Durability) -> Configuration {
        Configuration.signalbox(
            label: "signalbox.journal", durability: durability, readers: 4,
            pragmas: [
                // Entries are appended in id order and trimmed from the front: large pages mean fewer WAL
                // frames (and write calls) per entry. Measured with 1,000-entry appends of ~200-byte
                // payloads: 16 KB pages append ~25% faster than 4 KB; 64 KB gain little more and cost
                // more per small commit. Takes effect when the file is created.
                "PRAGMA page_size = 16384",
                // The background checkpointer copies the WAL back as it grows; the writer's own
                // checkpoint, the backstop that resets the WAL, waits for ~40 MB.
                "PRAGMA wal_autocheckpoint = 2500",
            ],
            // The entries between the checkpoint and the newest stay cached until trimmed, so the
            // trimming DELETE doesn't read them back from the file.
            writerPragmas: ["PRAGMA cache_size = -32768"])
    }

    /// The journal file's schema history, oldest first. Never edit a shipped migration: append a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE journal (
                        id INTEGER PRIMARY KEY,
                        topic TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        received_at INTEGER NOT NULL,
                        client_id TEXT,
                        gateway TEXT
                    );
                    -- One row: the checkpoint, and the highest id of the entries trimmed so far (the
                    -- journal may be empty after a checkpoint, and ids must keep increasing).
                    CREATE TABLE journal_state (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        checkpoint INTEGER NOT NULL,
                        last_id INTEGER NOT NULL
                    );
                    INSERT INTO journal_state (singleton, checkpoint, last_id) VALUES (1, 0, 0);
                    """)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    -- The last packet identifier of each MQTT session seen with each identifier, written with
                    -- the entry that carried it and kept when entries are trimmed: at most 65,535 rows a
                    -- session. The digest is a 64-bit hash stored as its bit pattern.
                    CREATE TABLE broker_receipts (
                        session TEXT NOT NULL,
                        packet_id INTEGER NOT NULL,
                        digest INTEGER NOT NULL,
                        entry_id INTEGER NOT NULL,
                        PRIMARY KEY (session, packet_id)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    -- The topic filters each MQTT session was last subscribed to, so that filters an
                    -- earlier run subscribed to and no longer wants are unsubscribed from a kept session.
                    CREATE TABLE broker_subscriptions (
                        session TEXT NOT NULL,
                        filter TEXT NOT NULL,
                        PRIMARY KEY (session, filter)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }
}

// MARK: - MQTT sessions

extension SQLiteJournal {
    /// Forgets the broker receipts of `session` (the broker no longer has the session: nothing of it
    /// will be redelivered).
    package func forgetBrokerReceipts(session: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM broker_receipts WHERE session = ?", arguments: [session])
        }
    }

    /// The topic filters last saved for `session`.
    package func brokerSubscriptions(session: String) async throws -> Set<String> {
        try await pool.read { db in
            Set(
                try String.fetchAll(
                    db, sql: "SELECT filter FROM broker_subscriptions WHERE session = ?", arguments: [session]))
        }
    }

    /// Replaces the topic filters saved for `session`.
    package func saveBrokerSubscriptions(_ filters: Set<String>, session: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM broker_subscriptions WHERE session = ?", arguments: [session])
            let insert = try db.cachedStatement(sql: "INSERT INTO broker_subscriptions (session, filter) VALUES (?, ?)")
            for filter in filters.sorted() { try insert.execute(arguments: [session, filter]) }
        }
    }
}

// MARK: - Group commit

/// One ``SQLiteJournal/append(_:)`` call waiting for its batch.
///
/// `@unchecked Sendable`: `failure` is written by `perform` on the writer queue, and read by
/// `complete` in a task the writer creates after the batch ends; nothing else touches it.
private final class AppendJob: GroupCommitJob, @unchecked Sendable {
    private static let insertSQL = """
        INSERT INTO journal (id, topic, payload, received_at, client_id, gateway) VALUES (?, ?, ?, ?, ?, ?)
        """
    private static let receiptSQL = """
        INSERT INTO broker_receipts (session, packet_id, digest, entry_id) VALUES (?, ?, ?, ?)
        ON CONFLICT (session, packet_id) DO UPDATE SET digest = excluded.digest, entry_id = excluded.entry_id
        """

    private let entries: [JournalEntry]
    private let continuation: CheckedContinuation<Void, any Error>
    private var failure: (any Error)?

    init(entries: [JournalEntry], continuation: CheckedContinuation<Void, any Error>) {
        self.entries = entries
        self.continuation = continuation
    }

    func perform(_ db: Database) throws {
        do {
            // A savepoint per append: an id conflict undoes this append only, not the batch.
            try db.inSavepoint {
                let statement = try db.cachedStatement(sql: Self.insertSQL)
                let receiptStatement =
                    entries.contains { $0.receipt != nil } ? try db.cachedStatement(sql: Self.receiptSQL) : nil
                for entry in entries {
                    // Each `HotStatement` resets and clears its bindings when it ends, so the optional
                    // columns left unbound below are NULL.
                    let insert = HotStatement(statement, in: db)
                    try insert.bind(entry.id, at: 1)
                    try insert.bind(entry.topic, at: 2)
                    try insert.bind(blob: entry.payload, at: 3)
                    try insert.bind(entry.receivedAt, at: 4)
                    if let clientID = entry.clientID { try insert.bind(clientID, at: 5) }
                    if let gateway = entry.gateway { try insert.bind(gateway, at: 6) }
                    _ = try insert.step()
                    if let receipt = entry.receipt, let receiptStatement {
                        let upsert = HotStatement(receiptStatement, in: db)
                        try upsert.bind(receipt.session, at: 1)
                        try upsert.bind(Int64(receipt.packetID), at: 2)
                        try upsert.bind(Int64(bitPattern: receipt.digest), at: 3)
                        try upsert.bind(entry.id, at: 4)
                        _ = try upsert.step()
                    }
                }
                return .commit
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT && db.isInsideTransaction {
            failure = error
        }
    }

    func complete(with error: (any Error)?) {
        if let error = error ?? failure {
            continuation.resume(throwing: error)
        } else {
            continuation.resume()
        }
    }
}

/// One ``SQLiteJournal/checkpoint(_:)`` call waiting for its batch.
private final class CheckpointJob: GroupCommitJob, Sendable {
    private let id: Int64
    private let continuation: CheckedContinuation<Void, any Error>

    init(id: Int64, continuation: CheckedContinuation<Void, any Error>) {
        self.id = id
        self.continuation = continuation
    }

    func perform(_ db: Database) throws {
        // Remember the highest id before the entries holding it go.
        let update = try HotStatement(
            db,
            sql: """
                UPDATE journal_state SET
                    last_id = MAX(last_id, ?1, IFNULL((SELECT MAX(id) FROM journal), 0)),
                    checkpoint = MAX(checkpoint, ?1)
                """)
        try update.bind(id, at: 1)
        _ = try update.step()
        let trim = try HotStatement(db, sql: "DELETE FROM journal WHERE id <= ?")
        try trim.bind(id, at: 1)
        _ = try trim.step()
    }

    func complete(with error: (any Error)?) {
        if let error {
            continuation.resume(throwing: error)
        } else {
            continuation.resume()
        }
    }
}
