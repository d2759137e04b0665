import GRDB
import SignalboxCore
import SignalboxJSON

/// A ``ShadowStorage`` in the data directory's SQLite database.
///
/// Writes go through group commit: concurrent ``modify(_:_:)`` calls are applied in order in one
/// write transaction per batch, and each caller resumes once its batch has committed. Reads run on
/// the pool's concurrent reader connections.
///
/// For example:
/// ```swift
/// let storage = SQLiteShadowStorage(database: try AppDatabase(directory: "./data"))
/// let service = ShadowService(storage: storage)
/// ```
package final class SQLiteShadowStorage: ShadowStorage {
    let pool: DatabasePool
    private let committer: GroupCommitter
    private let cache: WriterCache
    private let directReaders: DirectReaders?

    /// Creates the storage over `database`.
    ///
    /// - Parameters:
    ///   - database: The opened, migrated database.
    ///   - maxBatchSize: The most modifications one write transaction applies.
    ///   - writerCacheCapacity: How many recently written shadows the writer keeps decoded (0: none).
    package init(database: AppDatabase, maxBatchSize: Int = 256, writerCacheCapacity: Int = 16_384) {
        let cache = WriterCache(capacity: writerCacheCapacity)
        self.pool = database.pool
        self.cache = cache
        let checkpointer = try? BackgroundCheckpointer(path: database.path)
        self.committer = GroupCommitter(
            pool: database.pool, maxBatchSize: maxBatchSize, onCommit: { checkpointer?.nudge() },
            onRollback: { cache.removeAll() })
        // Without them reads still work, through the pool.
        self.directReaders = try? DirectReaders(path: database.path, count: 2)
    }

    package func record(for key: ShadowKey) async throws -> ShadowRecord? {
        // Never the pool's blocking read from an async context: it would hold a concurrency-pool
        // thread while waiting for a reader connection, and with every pool thread waiting, the async
        // reads that hold the readers could never finish. A free direct reader never waits.
        if let direct = try directReaders?.read({ db in try Self.fetchRecord(key, db) }) { return direct }
        return try await pool.read { db in try Self.fetchRecord(key, db) }
    }

    /// Blocks the calling thread: call it only from threads outside the concurrency pool.
    package func recordNow(for key: ShadowKey) throws -> ShadowRecord? {
        try pool.read { db in try Self.fetchRecord(key, db) }
    }

    package func modify<Result: Sendable>(
        _ key: ShadowKey,
        _ transform: @escaping @Sendable (ShadowRecord?) throws(ShadowError) -> ShadowModification<Result>
    ) async throws -> (Result, ShadowChange) {
        try await withCheckedThrowingContinuation { continuation in
            committer.submit(ModifyJob(key: key, transform: transform, cache: cache, continuation: continuation))
        }
    }

    package func namedShadows(of thing: String, after: String?, limit: Int) async throws -> [String] {
        guard limit > 0 else { return [] }
        return try await pool.read { db in
            // Names are never empty, so `> ''` also leaves out the classic shadow.
            let statement = try db.cachedStatement(
                sql: """
                    SELECT shadow_name FROM shadows
                    WHERE thing = ? AND shadow_name > ? AND deleted = 0
                    ORDER BY shadow_name LIMIT ?
                    """)
            return try String.fetchAll(statement, arguments: [thing, after ?? "", limit])
        }
    }

    package func desiredChanges(after sequence: Int64, things: Set<String>?, limit: Int) async throws -> [ShadowChange]
    {
        guard limit > 0, things?.isEmpty != true else { return [] }
        let thingList = things.map {
            String(decoding: JSONSerializer.bytes(.array($0.map { .string($0) })), as: UTF8.self)
        }
        return try await pool.read { db in
            // The bare columns of a MAX() aggregate come from the row holding the maximum: the
            // latest change per shadow. The filter repeats the partial index's condition verbatim so
            // the index serves it; for every shadow, the primary key's range after `sequence` does.
            let thingFilter = thingList == nil ? "" : "thing IN (SELECT value FROM json_each(?)) AND"
            let statement = try db.cachedStatement(
                sql: """
                    SELECT sequence, thing, shadow_name, kind, version, desired_changed, timestamp FROM (
                        SELECT MAX(sequence) AS sequence, thing, shadow_name, kind, version, desired_changed,
                            timestamp
                        FROM shadow_changes
                        WHERE \(thingFilter) sequence > ?
                            AND (desired_changed = 1 OR kind = 'deleted')
                        GROUP BY thing, shadow_name
                    )
                    ORDER BY sequence LIMIT ?
                    """)
            let arguments: StatementArguments =
                if let thingList { [thingList, sequence, limit] } else { [sequence, limit] }
            let rows = try Row.fetchCursor(statement, arguments: arguments)
            var changes: [ShadowChange] = []
            while let row = try rows.next() {
                changes.append(try Self.decodeChange(row))
            }
            return changes
        }
    }

    package func latestSequence() async throws -> Int64 {
        try await pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM shadow_changes")) ?? 0
        }
    }
}

// MARK: - Rows

extension SQLiteShadowStorage {
    /// The stored record of `key`, tombstones included.
    static func fetchRecord(_ key: ShadowKey, _ db: Database) throws -> ShadowRecord? {
        let statement = try HotStatement(
            db,
            sql: "SELECT state, metadata, version, timestamp, deleted FROM shadows WHERE thing = ? AND shadow_name = ?")
        try statement.bind(key.thing, at: 1)
        try statement.bind(key.name ?? "", at: 2)
        guard try statement.step() else { return nil }
        return ShadowRecord(
            state: try statement.withBytes(at: 0) { try decodeObject($0, key) },
            metadata: try statement.withBytes(at: 1) { try decodeObject($0, key) },
            version: statement.int64(at: 2), timestamp: statement.int64(at: 3), isDeleted: statement.int64(at: 4) != 0)
    }

    /// Stores `modification`'s record for `key` and logs the change.
    static func store<Result>(_ modification: ShadowModification<Result>, for key: ShadowKey, _ db: Database) throws
        -> ShadowChange
    {
        let record = modification.record
        let name = key.name ?? ""
        let upsert = try HotStatement(
            db,
            sql: """
                INSERT INTO shadows (thing, shadow_name, state, metadata, version, timestamp, deleted)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (thing, shadow_name) DO UPDATE SET
                    state = excluded.state, metadata = excluded.metadata, version = excluded.version,
                    timestamp = excluded.timestamp, deleted = excluded.deleted
                """)
        try upsert.bind(key.thing, at: 1)
        try upsert.bind(name, at: 2)
        try upsert.bind(blob: encodeSections(desired: record.desired, reported: record.reported), at: 3)
        try upsert.bind(blob: encodeSections(desired: record.desiredMetadata, reported: record.reportedMetadata), at: 4)
        try upsert.bind(record.version, at: 5)
        try upsert.bind(record.timestamp, at: 6)
        try upsert.bind(record.isDeleted, at: 7)
        _ = try upsert.step()

        let log = try HotStatement(
            db,
            sql: """
                INSERT INTO shadow_changes (thing, shadow_name, kind, version, desired_changed, timestamp)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        try log.bind(key.thing, at: 1)
        try log.bind(name, at: 2)
        try log.bind(modification.kind.rawValue, at: 3)
        try log.bind(record.version, at: 4)
        try log.bind(modification.desiredChanged, at: 5)
        try log.bind(record.timestamp, at: 6)
        _ = try log.step()
        return ShadowChange(
            sequence: log.lastInsertedRowID, key: key, kind: modification.kind, version: record.version,
            desiredChanged: modification.desiredChanged, timestamp: record.timestamp)
    }

    /// `{"desired": …, "reported": …}` as compact JSON, absent sections left out: the bytes of
    /// ``ShadowRecord/state`` and ``ShadowRecord/metadata`` without building those objects.
    private static func encodeSections(desired: JSONObject?, reported: JSONObject?) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        bytes.append(UInt8(ascii: "{"))
        if let desired {
            bytes.append(contentsOf: #""desired":"#.utf8)
            JSONSerializer.append(.object(desired), to: &bytes)
        }
        if let reported {
            if desired != nil { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: #""reported":"#.utf8)
            JSONSerializer.append(.object(reported), to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private static func decodeObject(_ bytes: UnsafeBufferPointer<UInt8>, _ key: ShadowKey) throws -> JSONObject {
        guard case .success(.object(let object)) = JSONParser.parse(buffer: bytes) else {
            throw StoreError(
                .corruptRecord,
                "the stored shadow '\(key)' is not valid JSON: restore the data directory from a backup")
        }
        return object
    }

    private static func decodeChange(_ row: Row) throws -> ShadowChange {
        let name: String = row[2]
        let kindName: String = row[3]
        guard let kind = ShadowChange.Kind(rawValue: kindName) else {
            throw StoreError(
                .corruptRecord, "a shadow change has an unknown kind: restore the data directory from a backup")
        }
        return ShadowChange(
            sequence: row[0], key: ShadowKey(thing: row[1], name: name.isEmpty ? nil : name), kind: kind,
            version: row[4], desiredChanged: row[5], timestamp: row[6])
    }
}

// MARK: - Group commit

/// One ``SQLiteShadowStorage/modify(_:_:)`` call waiting for its batch.
///
/// `@unchecked Sendable`: `outcome` is written by `perform` on the writer queue, and read by
/// `complete` in a task the writer creates after the batch ends; nothing else touches it.
private final class ModifyJob<Result: Sendable>: GroupCommitJob, @unchecked Sendable {
    private enum Outcome {
        case written(Result, ShadowChange)
        case failed(any Error)
    }

    private let key: ShadowKey
    private let transform: @Sendable (ShadowRecord?) throws(ShadowError) -> ShadowModification<Result>
    private let cache: WriterCache
    private let continuation: CheckedContinuation<(Result, ShadowChange), any Error>
    private var outcome: Outcome?

    init(
        key: ShadowKey,
        transform: @escaping @Sendable (ShadowRecord?) throws(ShadowError) -> ShadowModification<Result>,
        cache: WriterCache,
        continuation: CheckedContinuation<(Result, ShadowChange), any Error>
    ) {
        self.key = key
        self.transform = transform
        self.cache = cache
        self.continuation = continuation
    }

    func perform(_ db: Database) throws {
        let current: ShadowRecord?
        if let cached = cache.record(for: key) {
            current = cached
        } else {
            do {
                current = try SQLiteShadowStorage.fetchRecord(key, db)
            } catch let error as StoreError {
                // A corrupt row fails its own request, not the batch.
                outcome = .failed(error)
                return
            }
            cache.set(current, for: key)
        }
        let modification: ShadowModification<Result>
        do throws(ShadowError) {
            modification = try transform(current)
        } catch {
            outcome = .failed(error)
            return
        }
        let change = try SQLiteShadowStorage.store(modification, for: key, db)
        cache.set(modification.record, for: key)
        outcome = .written(modification.result, change)
    }

    func complete(with error: (any Error)?) {
        if let error {
            continuation.resume(throwing: error)
            return
        }
        switch outcome {
        case .written(let result, let change): continuation.resume(returning: (result, change))
        case .failed(let error): continuation.resume(throwing: error)
        case nil:
            // Unreachable: a committed batch performed every job.
            continuation.resume(throwing: CancellationError())
        }
    }
}
