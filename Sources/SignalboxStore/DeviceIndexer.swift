import Foundation
import GRDB
import SignalboxCore
import Synchronization

/// Runs the device-index passes (see ``SQLiteRecordStorage``), one at a time per table.
final class DeviceIndexer: Sendable {
    private struct Entry: Sendable {
        let device: String
        let receivedAt: Int64
        let seq: Int64
    }

    private let pool: DatabasePool
    private let committer: GroupCommitter
    /// Index entries per writer step: about a millisecond of work.
    private let chunkSize = 2_048
    private let running = Mutex<[String: Task<Void, Never>]>([:])

    init(pool: DatabasePool, committer: GroupCommitter) {
        self.pool = pool
        self.committer = committer
    }

    func isRunning(_ table: String) -> Bool { running.withLock { $0[table] != nil } }

    /// Starts a pass over the rows of `table` with `through < seq ≤ target` unless one is running.
    /// Call it once those rows are committed.
    func start(_ table: String, through: Int64, target: Int64) {
        running.withLock { running in
            guard running[table] == nil else { return }
            // Lifetime: one bounded pass (at most 262,144 rows); it removes itself from `running`.
            running[table] = Task {
                await self.pass(table, through: through, target: target)
                _ = self.running.withLock { $0.removeValue(forKey: table) }
            }
        }
    }

    func waitUntilIdle() async {
        while let task = running.withLock({ $0.values.first }) { await task.value }
    }

    /// On failure the rows stay in the tail (queries still find them); a later pass covers them.
    private func pass(_ table: String, through: Int64, target: Int64) async {
        do {
            var entries = try await pool.read { db -> [Entry] in
                let rows = try Row.fetchCursor(
                    db, sql: #"SELECT device, received_at, seq FROM "\#(table)" WHERE seq > ? AND seq <= ?"#,
                    arguments: [through, target])
                var entries: [Entry] = []
                entries.reserveCapacity(Int(clamping: target - through))
                while let row = try rows.next() {
                    entries.append(Entry(device: row[0] ?? "", receivedAt: row[1] ?? 0, seq: row[2]))
                }
                return entries
            }
            // In index order, sorted here rather than by SQLite, whose sorter takes fresh memory each pass.
            entries.sort { ($0.device, $0.receivedAt, $0.seq) < ($1.device, $1.receivedAt, $1.seq) }
            var start = 0
            repeat {
                let end = min(entries.count, start + chunkSize)
                let job = IndexChunkJob(
                    table: table, entries: Array(entries[start..<end]), through: end == entries.count ? target : nil)
                try await withCheckedThrowingContinuation { continuation in
                    job.continuation = continuation
                    committer.submit(job)
                }
                start = end
            } while start < entries.count
        } catch {}
    }

    /// One chunk of a pass: its entries, and on the last chunk the new indexed `seq`.
    private final class IndexChunkJob: GroupCommitJob, @unchecked Sendable {  // continuation set before submit
        let table: String
        let entries: [Entry]
        let through: Int64?
        var continuation: CheckedContinuation<Void, any Error>?

        init(table: String, entries: [Entry], through: Int64?) {
            self.table = table
            self.entries = entries
            self.through = through
        }

        func perform(_ db: Database) throws {
            let statement = try db.cachedStatement(
                sql: #"INSERT OR IGNORE INTO "\#(table):by_device" (device, received_at, seq) VALUES (?, ?, ?)"#)
            for entry in entries {
                let insert = HotStatement(statement, in: db)
                try insert.bind(entry.device, at: 1)
                try insert.bind(entry.receivedAt, at: 2)
                try insert.bind(entry.seq, at: 3)
                _ = try insert.step()
            }
            if let through { try SQLiteRecordStorage.markIndexed(table, through: through, db) }
        }

        func complete(with error: (any Error)?) {
            if let error {
                continuation?.resume(throwing: error)
            } else {
                continuation?.resume()
            }
        }
    }
}
