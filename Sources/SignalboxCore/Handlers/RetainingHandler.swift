/// A handler that writes records which expire: the runtime deletes, now and then, the records of
/// ``retention``'s table that are older than its `keep` duration.
///
/// `persist` with `retain: 30d` is one:
/// ```swift
/// if let retaining = handler as? any RetainingHandler, let retention = retaining.retention {
///     print(retention.table, retention.keep)  // "readings" 2592000.0 seconds
/// }
/// ```
/// Use ``RecordRetention`` to combine the handlers of a rule set into one schedule.
package protocol RetainingHandler: HandlerFunction {
    /// The record table this handler writes.
    var table: String { get }

    /// The table this handler writes and how long its records are kept; nil when they are kept
    /// forever.
    var retention: (table: String, keep: Duration)? { get }
}

/// How long each table's records are kept, for the handlers of one rule set.
///
/// Several actions may write one table. Records carry no note of the action that wrote them, so a
/// table is trimmed only when every handler writing it asks for retention, and then by the longest
/// `keep` among them: no action loses a record earlier than it asked.
///
/// For example:
/// ```swift
/// let retention = RecordRetention(handlers)
/// let deleted = try await retention.apply(to: storage, now: SystemClock.milliseconds())
/// ```
package struct RecordRetention: Sendable, Hashable {
    /// The tables that are trimmed, and how long each keeps its records.
    package var keep: [String: Duration]

    /// The schedule for `handlers` (every handler built for a rule set; the ones that write no
    /// records are ignored).
    package init(_ handlers: [any HandlerFunction]) {
        var keep: [String: Duration] = [:]
        var forever: Set<String> = []
        for handler in handlers {
            guard let retaining = handler as? any RetainingHandler else { continue }
            guard let retention = retaining.retention else {
                forever.insert(retaining.table)
                continue
            }
            keep[retention.table] = max(keep[retention.table] ?? .zero, retention.keep)
        }
        for table in forever { keep[table] = nil }
        self.keep = keep
    }

    /// A schedule written out, for tests.
    package init(keep: [String: Duration]) {
        self.keep = keep
    }

    /// Deletes, from each trimmed table, the records received more than its `keep` before `now`.
    ///
    /// - Parameters:
    ///   - storage: The record tables.
    ///   - now: Milliseconds since the Unix epoch.
    /// - Returns: How many records were deleted, by table (tables with none deleted included).
    package func apply(to storage: any RecordStorage, now: Int64) async throws -> [String: Int] {
        var deleted: [String: Int] = [:]
        for (table, keep) in keep.sorted(by: { $0.key < $1.key }) {
            deleted[table] = try await storage.deleteRecords(
                in: table, receivedBefore: Self.cutoff(now: now, keep: keep))
        }
        return deleted
    }

    /// The receive time (ms since the epoch) before which records older than `keep` were received.
    package static func cutoff(now: Int64, keep: Duration) -> Int64 {
        let (seconds, attoseconds) = keep.components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return Int64.min }
        let total = milliseconds.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        guard !total.overflow else { return Int64.min }
        let cutoff = now.subtractingReportingOverflow(total.partialValue)
        return cutoff.overflow ? Int64.min : cutoff.partialValue
    }
}
