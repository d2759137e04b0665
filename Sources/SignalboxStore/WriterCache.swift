import SignalboxCore
import Synchronization

/// The shadow records the writer last read or wrote, so updates of a shadow that was touched
/// recently skip the SELECT and the JSON decoding.
///
/// Only the writer queue uses it, so it always agrees with the database as the writer sees it; when
/// a batch rolls back, the whole cache is dropped. Bounded: when full it is emptied and refills with
/// what is being written (cheap, and a store of hot shadows refills at once).
final class WriterCache: Sendable {
    /// `nil` values record shadows known not to exist.
    private let records = Mutex<[ShadowKey: ShadowRecord?]>([:])
    /// The most records kept.
    let capacity: Int

    /// Creates an empty cache holding at most `capacity` records (0 disables it).
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached record of `key`: `.some(nil)` when known not to exist, `nil` when not cached.
    func record(for key: ShadowKey) -> ShadowRecord?? {
        records.withLock { $0[key] }
    }

    /// Remembers `record` (or its absence) for `key`.
    func set(_ record: ShadowRecord?, for key: ShadowKey) {
        guard capacity > 0 else { return }
        records.withLock { records in
            if records.count >= capacity, records[key] == nil { records.removeAll(keepingCapacity: true) }
            records[key] = .some(record)
        }
    }

    /// Forgets everything (after a rollback).
    func removeAll() {
        records.withLock { $0.removeAll() }
    }
}
