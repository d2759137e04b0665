import GRDB
import Synchronization

/// A few read-only connections a task may use on its own thread without ever waiting: a point
/// lookup takes microseconds, far less than the two thread hops of the pool's async read.
///
/// A slot is taken only if it is free at that instant (`withLockIfAvailable`); when all are busy the
/// caller falls back to the pool's async read. Nothing here blocks, so it is safe on the
/// concurrency pool.
final class DirectReaders: Sendable {
    private final class Slot: Sendable {
        let lock = Mutex(())
        let queue: DatabaseQueue
        init(_ queue: DatabaseQueue) { self.queue = queue }
    }

    private let slots: [Slot]

    /// Opens `count` read-only connections to the database at `path`.
    init(path: String, count: Int) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "signalbox.direct-read"
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 268435456") }
        slots = try (0..<count).map { _ in Slot(try DatabaseQueue(path: path, configuration: configuration)) }
    }

    /// Runs `body` on a free connection, or returns `nil` at once when every connection is busy.
    func read<T: Sendable>(_ body: (Database) throws -> T) throws -> T? {
        for slot in slots {
            let result = slot.lock.withLockIfAvailable { _ -> Result<T, any Error> in
                // The slot's lock makes this queue uncontended: `read` runs right here.
                do { return .success(try slot.queue.read(body)) } catch { return .failure(error) }
            }
            if let result { return try result.get() }
        }
        return nil
    }

    /// Closes every connection.
    func close() throws {
        for slot in slots { try slot.lock.withLock { _ in try slot.queue.close() } }
    }
}
